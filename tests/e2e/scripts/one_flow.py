"""Run one flow with the real prefect client: `one_flow.py [complete|fail] [flow-name]`.

Prints {"flow_run_id": ..., "state": ...} as its last line (a failing flow is caught, so
the script itself succeeds).
"""

from __future__ import annotations

import json
import sys

from prefect import flow
from prefect.context import get_run_context


def main(outcome: str, name: str) -> None:
    seen: dict[str, str] = {}

    @flow(name=name)
    def one() -> int:
        seen["id"] = str(get_run_context().flow_run.id)
        if outcome == "fail":
            raise ValueError("failing on purpose")
        return 1

    state = one(return_state=True)
    print(json.dumps({"flow_run_id": seen["id"], "state": state.type.value}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "complete", sys.argv[2] if len(sys.argv) > 2 else "one-flow")
