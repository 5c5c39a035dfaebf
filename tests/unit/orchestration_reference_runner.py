"""Runs transitions through the reference (prefect 3.9.1) CoreFlowPolicy; prints JSON results.

Executed in a subprocess by test_orchestration_reference.py so the reference's settings
(a throwaway SQLite database) never leak into other tests. Test-only: imports prefect.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import sys
import tempfile
import uuid
from typing import Any

_home = tempfile.mkdtemp()
os.environ["PREFECT_HOME"] = _home
os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = f"sqlite+aiosqlite:///{_home}/ref.db"

from prefect.server import models, schemas  # noqa: E402 - prefect reads PREFECT_HOME at import: set above
from prefect.server.database import provide_database_interface  # noqa: E402 - prefect reads PREFECT_HOME at import: set above
from prefect.server.orchestration.core_policy import CoreFlowPolicy  # noqa: E402 - prefect reads PREFECT_HOME at import: set above


def _state(spec: dict[str, Any]) -> schemas.states.State:
    now = datetime.datetime.now(datetime.UTC)
    details = dict(spec.get("details", {}))
    for key in ("scheduled_time", "pause_timeout"):
        if key in details:
            details[key] = now + datetime.timedelta(seconds=details[key])
    return schemas.states.State(type=spec["type"], name=spec.get("name"), data=spec.get("data"), state_details=details)


async def _run_case(db: Any, flow_id: uuid.UUID, case: dict[str, Any]) -> dict[str, Any]:
    run_spec = case.get("run", {})
    async with db.session_context(begin_transaction=True) as session:
        run = await models.flow_runs.create_flow_run(
            session,
            schemas.core.FlowRun(
                flow_id=flow_id,
                infrastructure_pid=run_spec.get("infrastructure_pid"),
                empirical_policy={"retries": run_spec.get("retries"), "retry_delay": run_spec.get("retry_delay")},
            ),
        )
        if case.get("initial"):
            await models.flow_runs.set_flow_run_state(session, run.id, _state(case["initial"]), force=True)
        run.run_count = run_spec.get("run_count", 0)
        if run_spec.get("deployment"):
            # Only the presence of a deployment id matters to the rules.
            run.deployment_id = uuid.uuid4()
        run_id = run.id
    async with db.session_context(begin_transaction=True) as session:
        result = await models.flow_runs.set_flow_run_state(
            session, run_id, _state(case["proposed"]), flow_policy=CoreFlowPolicy
        )
    details = result.details.model_dump(mode="json")
    state = result.state
    return {
        "status": result.status.value,
        "details": details,
        "state": None if state is None else {"type": state.type.value, "name": state.name},
    }


async def main() -> None:
    cases = json.load(sys.stdin)
    db = provide_database_interface()
    await db.create_db()
    async with db.session_context(begin_transaction=True) as session:
        flow = await models.flows.create_flow(session, schemas.core.Flow(name="reference-comparison"))
    results = [await _run_case(db, flow.id, case) for case in cases]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
