"""Same transitions through our rules and the reference's CoreFlowPolicy: same answers.

The reference runs in a subprocess with its own throwaway SQLite database, so its
settings never leak into other tests. Compared: status, details, returned state type/name.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.orchestration import orchestrate_flow_run
from shared.schemas.flow_runs import FlowRunPolicy
from shared.schemas.states import State, StateCreate, StateDetails
from tests.unit.orchestration_helpers import flow_run

pytest.importorskip("prefect")

RUNNER = Path(__file__).with_name("orchestration_reference_runner.py")

S = lambda type_, name=None, **details: {"type": type_, "name": name, "details": details}  # noqa: E731 - a one-line state factory

CASES: list[dict[str, Any]] = [
    {"initial": S("SCHEDULED", scheduled_time=-5), "proposed": S("PENDING")},
    {"initial": S("PENDING"), "proposed": S("PENDING")},
    {"initial": S("PENDING"), "proposed": S("PENDING", "Submitting")},
    {"initial": S("RUNNING"), "proposed": S("PENDING")},
    {"initial": S("CANCELLED"), "proposed": S("PENDING")},
    {"initial": S("CANCELLING"), "proposed": S("PENDING")},
    {"initial": S("CANCELLING"), "proposed": S("COMPLETED")},
    {"initial": S("CANCELLING"), "proposed": S("CANCELLED")},
    {"initial": S("SCHEDULED", scheduled_time=3600), "proposed": S("RUNNING")},
    {"initial": S("RUNNING"), "proposed": S("FAILED"), "run": {"retries": 1, "retry_delay": 5, "run_count": 1}},
    {"initial": S("RUNNING"), "proposed": S("FAILED"), "run": {"retries": 1, "run_count": 2}},
    {"initial": S("COMPLETED"), "proposed": S("CRASHED")},
    {"initial": S("FAILED"), "proposed": S("SCHEDULED")},
    {"initial": S("FAILED"), "proposed": S("RUNNING")},
    {"initial": S("SCHEDULED"), "proposed": S("CANCELLING")},
    {"initial": S("SCHEDULED"), "proposed": S("CANCELLING"), "run": {"infrastructure_pid": "1"}},
    {"initial": S("RUNNING"), "proposed": S("SCHEDULED", "Late")},
    {"initial": S("SCHEDULED", "Late"), "proposed": S("SCHEDULED", "Late")},
    {"initial": S("PENDING"), "proposed": S("PAUSED")},
    {"initial": S("RUNNING"), "proposed": S("PAUSED", "Suspended", pause_reschedule=True)},
    {"initial": S("PAUSED"), "proposed": S("PENDING")},
    {"initial": S("PAUSED", pause_timeout=-60), "proposed": S("RUNNING")},
    {
        "initial": S("RUNNING", transition_id="00000000-0000-0000-0000-000000000001"),
        "proposed": S("COMPLETED", transition_id="00000000-0000-0000-0000-000000000001"),
    },
    {"initial": None, "proposed": S("PAUSED")},
]


def _ours(case: dict[str, Any]) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)

    def build(spec: dict[str, Any]) -> dict[str, Any]:
        details = dict(spec["details"])
        for key in ("scheduled_time", "pause_timeout"):
            if key in details:
                details[key] = now + datetime.timedelta(seconds=details[key])
        return {"type": spec["type"], "name": spec["name"], "state_details": StateDetails(**details)}

    run_spec = case.get("run", {})
    initial = (
        State(timestamp=now - datetime.timedelta(seconds=1), **build(case["initial"])) if case["initial"] else None
    )
    run = flow_run(
        initial,
        run_count=run_spec.get("run_count", 0),
        infrastructure_pid=run_spec.get("infrastructure_pid"),
        empirical_policy=FlowRunPolicy(retries=run_spec.get("retries"), retry_delay=run_spec.get("retry_delay")),
    )
    out = orchestrate_flow_run(run, StateCreate(**build(case["proposed"])), now=now)
    return {
        "status": out.status.value,
        "details": out.details.model_dump(mode="json"),
        "state": None if out.state is None else {"type": out.state.type.value, "name": out.state.name},
    }


@pytest.fixture(scope="module")
def reference_results() -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, str(RUNNER)], input=json.dumps(CASES), capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.mark.parametrize("index", range(len(CASES)))
def test_matches_reference(index: int, reference_results: list[dict[str, Any]]) -> None:
    ours, theirs = _ours(CASES[index]), reference_results[index]
    if theirs["details"].get("type") == "wait_details":
        # The clocks differ by the subprocess start-up: compare within a few seconds.
        assert abs(ours["details"].pop("delay_seconds") - theirs["details"].pop("delay_seconds")) <= 5
    assert ours == theirs, CASES[index]
