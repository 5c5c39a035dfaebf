"""Real prefect client: 10 flows at once (threads) each hold `concurrency(<name>, occupy=1)`
(v2 slots with a lease). Prints each holder's [acquired, released] wall-clock interval.

argv: <limit name>
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect import flow
from prefect.concurrency.sync import concurrency

NAME = sys.argv[1]


@flow(name="global-limited")
def guarded(i: int) -> dict[str, Any]:
    with concurrency(NAME, occupy=1):
        acquired = time.time()
        time.sleep(1.0)
        released = time.time()
    return {"i": i, "acquired": acquired, "released": released}


def run(i: int) -> dict[str, Any]:
    state = guarded(i, return_state=True)
    return {**state.result(), "state": state.type.value}


def main() -> None:
    with ThreadPoolExecutor(10) as pool:
        holders = list(pool.map(run, range(10)))
    sys.stdout.write("\n" + json.dumps({"holders": holders}) + "\n")


if __name__ == "__main__":
    main()
