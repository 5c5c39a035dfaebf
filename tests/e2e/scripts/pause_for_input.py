"""A flow that pauses for typed input; prints its result once resumed (argv[1] = flow name)."""

import json
import sys

from prefect import flow, pause_flow_run
from prefect.input import RunInput


class Approval(RunInput):
    approved: bool
    note: str = ""


@flow(name=sys.argv[1])
def needs_approval() -> dict:
    answer = pause_flow_run(wait_for_input=Approval, timeout=150, poll_interval=1)
    return {"approved": answer.approved, "note": answer.note}


state = needs_approval(return_state=True)
print(json.dumps({"type": state.type.value, "result": state.result(raise_on_failure=False)}))
