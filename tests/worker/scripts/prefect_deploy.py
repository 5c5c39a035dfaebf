"""Real prefect client: create a process pool, deploy a flow from a local source directory, and
create a run of it (run_deployment, timeout 0); prints one JSON line {deployment_id, run_id}."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment

FLOW = """
from prefect import flow


@flow(name="{name}")
def greet(name: str = "world") -> str:
    print(f"hello {{name}} from the prefect worker")
    return f"hello {{name}}"
"""


def main() -> None:
    pool, directory, flow_name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "greet.py").write_text(textwrap.dedent(FLOW.format(name=flow_name)))
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    source = flow.from_source(source=str(directory), entrypoint="greet.py:greet")
    deployment_id = source.deploy(name="by-prefect", work_pool_name=pool, parameters={"name": "serverflow"})
    run = run_deployment(f"{flow_name}/by-prefect", timeout=0)
    print(json.dumps({"deployment_id": str(deployment_id), "run_id": str(run.id)}))


if __name__ == "__main__":
    main()
