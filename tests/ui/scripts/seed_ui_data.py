"""Real prefect client: make everything the UI pages show; print one JSON summary line.

A flow with tasks, a subflow, logs and an artifact; a deployment with a schedule in a work pool
with a second queue; a variable, a block, a global concurrency limit, a task-run concurrency
limit and an automation. A step whose domain the server does not serve (yet) is reported in
`missing` instead of failing the whole script: the browser tests decide what that means.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate

LOG_LINE = "serverflow-ui log line: hello from the parent flow"
VARIABLE = ("serverflow_ui_variable", "serverflow-ui-variable-value")
BLOCK_NAME = "serverflow-ui-secret"
POOL, QUEUE = "serverflow-ui-pool", "serverflow-ui-queue"
ARTIFACT_KEY = "serverflow-ui-report"


@task(name="ui-add")
def add(x: int, y: int) -> int:
    return x + y


@task(name="ui-double")
def double(x: int) -> int:
    return 2 * x


@flow(name="serverflow-ui-child", flow_run_name="serverflow-ui-child-run")
def child(x: int) -> int:
    get_run_logger().info("serverflow-ui log line: child flow got %s", x)
    return double(x)


@flow(name="serverflow-ui-parent", flow_run_name="serverflow-ui-parent-run")
def parent(a: int = 1, b: int = 2) -> int:
    get_run_logger().info(LOG_LINE)
    total = add(a, b)
    doubled = double(total)
    create_markdown_artifact(
        markdown="# Serverflow UI report\n\nTotal: **%s**" % doubled, key=ARTIFACT_KEY, description="UI test artifact"
    )
    return child(doubled)


def _recorded_task_run(client: Any, flow_run_id: Any, name_prefix: str, timeout: float = 30.0) -> Any:
    """The server records task runs from the client's events asynchronously (as prefect's does): poll, bounded."""
    deadline = time.monotonic() + timeout
    while True:
        found = [t for t in client.read_task_runs() if t.name.startswith(name_prefix) and t.flow_run_id == flow_run_id]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {name_prefix!r} task run recorded within {timeout}s")
        time.sleep(0.2)


def main() -> None:
    summary: dict[str, Any] = {"missing": {}}

    def step(name: str, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - reported per step
            summary["missing"][name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            return None

    state = parent(return_state=True)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs()
        parent_run = next(r for r in runs if r.name == "serverflow-ui-parent-run")
        child_run = next(r for r in runs if r.name == "serverflow-ui-child-run")
        add_run = _recorded_task_run(client, parent_run.id, "ui-add")
        summary.update(
            parent_state=state.type.value,
            flow_id=str(parent_run.flow_id),
            flow_run_id=str(parent_run.id),
            flow_run_name=parent_run.name,
            child_flow_run_id=str(child_run.id),
            task_run_id=str(add_run.id),
            task_run_name=add_run.name,
            log_line=LOG_LINE,
            artifact_key=ARTIFACT_KEY,
        )
        pool = client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        queue = client.create_work_queue(name=QUEUE, work_pool_name=POOL)
        summary.update(work_pool_name=pool.name, work_queue_name=queue.name, work_queue_id=str(queue.id))
        deployment_id = parent.to_deployment(
            name="serverflow-ui-deployment",
            work_pool_name=POOL,
            interval=timedelta(hours=1),
            parameters={"a": 5, "b": 6},
        ).apply()
        summary.update(deployment_id=str(deployment_id), deployment_name="serverflow-ui-deployment")

        def make_variable() -> str:
            from prefect.variables import Variable

            Variable.set(VARIABLE[0], VARIABLE[1], overwrite=True)
            return VARIABLE[0]

        summary["variable"] = step("variables", make_variable) and {"name": VARIABLE[0], "value": VARIABLE[1]}

        def make_block() -> str:
            from prefect.blocks.system import Secret

            block_id = Secret(value="serverflow-ui-secret-value").save(BLOCK_NAME, overwrite=True)
            return str(block_id)

        summary["block_document_id"] = step("blocks", make_block)
        summary["block_name"] = BLOCK_NAME

        def make_global_limit() -> str:
            from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

            return str(
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name="serverflow-ui-limit", limit=3)
                )
            )

        summary["global_concurrency_limit"] = step("concurrency", make_global_limit)

        def make_tag_limit() -> str:
            return str(client.create_concurrency_limit(tag="serverflow-ui-tag", concurrency_limit=2))

        summary["task_run_concurrency_limit"] = step("task_run_concurrency", make_tag_limit)

        def make_automation() -> str:
            from prefect.automations import Automation
            from prefect.events.actions import CancelFlowRun
            from prefect.events.schemas.automations import EventTrigger

            automation = Automation(
                name="serverflow-ui-automation",
                trigger=EventTrigger(expect={"prefect.flow-run.Failed"}, posture="Reactive", threshold=1),
                actions=[CancelFlowRun()],
            ).create()
            return str(automation.id)

        summary["automation_id"] = step("automations", make_automation)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
