"""Background tasks with the real prefect client.

`background_tasks.py serve`  : a task worker (Task.serve) for `record`; each run appends a
                               line to $RECORD_FILE.
`background_tasks.py delay N`: N × `record.delay(i)`; prints the task run ids as JSON.
"""

from __future__ import annotations

import json
import os
import sys

from prefect import task
from prefect.task_worker import serve


@task
def record(i: int) -> int:
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as handle:
        handle.write(f"{i} {os.getpid()}\n")
    return i


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        print(json.dumps({"serving": True}), flush=True)
        serve(record)
    else:
        futures = [record.delay(i) for i in range(int(sys.argv[2]))]
        print(json.dumps({"task_run_ids": [str(f.task_run_id) for f in futures]}), flush=True)
