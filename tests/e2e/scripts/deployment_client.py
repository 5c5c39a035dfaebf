"""Real prefect client: register deployments (to_deployment().apply() and flow.deploy),
read them back, run_deployment; prints one JSON summary line."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments import run_deployment


@flow(name="serverflow-greet")
def greet(name: str = "world") -> str:
    return f"hello {name}"


def main() -> None:
    pool_name = sys.argv[1] if len(sys.argv) > 1 else f"e2e-pool-{uuid.uuid4().hex[:6]}"
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=pool_name, type="process"))
        applied_id = greet.to_deployment(
            name="applied", work_pool_name=pool_name, parameters={"name": "applied"}, cron="0 9 * * *"
        ).apply()
        deploy_error = None
        try:
            # A process pool runs code from a source location (here this script's directory).
            source = greet.from_source(source=str(Path(__file__).parent), entrypoint="deployment_client.py:greet")
            deployed_id = source.deploy(name="deployed", work_pool_name=pool_name)
        except Exception as exc:  # noqa: BLE001 - reported, the test decides
            deployed_id, deploy_error = None, f"{type(exc).__name__}: {exc}"
        applied = client.read_deployment_by_name("serverflow-greet/applied")
        run = run_deployment("serverflow-greet/applied", parameters={"name": "serverflow"}, timeout=0)
        read_back = client.read_flow_run(run.id)
        print(
            json.dumps(
                {
                    "applied_id": str(applied_id),
                    "deployed_id": str(deployed_id) if deployed_id else None,
                    "deploy_error": deploy_error,
                    "applied": {
                        "id": str(applied.id),
                        "work_pool_name": applied.work_pool_name,
                        "work_queue_name": applied.work_queue_name,
                        "parameters": applied.parameters,
                        "schedules": [s.schedule.model_dump(mode="json") for s in applied.schedules],
                        "entrypoint": applied.entrypoint,
                    },
                    "run": {
                        "id": str(run.id),
                        "deployment_id": str(read_back.deployment_id),
                        "state": read_back.state.type.value if read_back.state else None,
                        "parameters": read_back.parameters,
                        "work_pool_name": read_back.work_pool_name,
                    },
                }
            )
        )


if __name__ == "__main__":
    main()
