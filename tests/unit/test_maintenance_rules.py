"""Pure maintenance rules and the id-time floor the deployment run ranges rely on."""

from __future__ import annotations

import datetime
import uuid

from shared.orchestration import maintenance_rules as rules
from shared.scheduling import scheduled_run_id, scheduled_run_key
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import State, StateType
from shared.storage.deployments_runs import uuid7_floor

UTC = datetime.UTC
NOW = datetime.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def _run(state_type: StateType, name: str, **fields: object) -> FlowRun:
    state = State(type=state_type, name=name, timestamp=fields.pop("timestamp", NOW))
    return FlowRun(flow_id=uuid.uuid4(), state=state, state_type=state_type, state_name=name, **fields)


def test_late_only_for_plain_scheduled_runs_past_the_threshold() -> None:
    due = NOW - datetime.timedelta(seconds=16)
    assert rules.is_late(_run(StateType.SCHEDULED, "Scheduled", next_scheduled_start_time=due), NOW)
    assert not rules.is_late(_run(StateType.SCHEDULED, "Scheduled", next_scheduled_start_time=NOW), NOW)
    assert not rules.is_late(_run(StateType.SCHEDULED, "Late", next_scheduled_start_time=due), NOW)
    assert not rules.is_late(_run(StateType.SCHEDULED, "AwaitingRetry", next_scheduled_start_time=due), NOW)
    assert not rules.is_late(_run(StateType.PENDING, "Pending", next_scheduled_start_time=due), NOW)


def test_cancelling_timeout_counts_from_the_cancelling_state() -> None:
    timeout = datetime.timedelta(seconds=300)
    old = _run(StateType.CANCELLING, "Cancelling", timestamp=NOW - datetime.timedelta(seconds=301))
    new = _run(StateType.CANCELLING, "Cancelling", timestamp=NOW - datetime.timedelta(seconds=10))
    assert rules.cancelling_timed_out(old, NOW, timeout)
    assert not rules.cancelling_timed_out(new, NOW, timeout)
    assert not rules.cancelling_timed_out(_run(StateType.RUNNING, "Running"), NOW, timeout)


def test_subflows_of_a_cancelled_run() -> None:
    in_process = _run(StateType.RUNNING, "Running")
    deployed = _run(StateType.RUNNING, "Running", deployment_id=uuid.uuid4())
    assert rules.subflow_state(in_process).type == StateType.CANCELLED
    assert rules.subflow_state(deployed).type == StateType.CANCELLING
    assert rules.subflow_state(_run(StateType.CANCELLING, "Cancelling", deployment_id=uuid.uuid4())) is None
    assert rules.subflow_state(_run(StateType.COMPLETED, "Completed")) is None


def test_scheduled_run_ids_sort_at_or_after_the_floor_of_their_time() -> None:
    deployment, schedule = uuid.uuid4(), uuid.uuid4()
    for minutes in (0, 1, 60, 60 * 24 * 90):
        when = NOW + datetime.timedelta(minutes=minutes)
        rid = str(scheduled_run_id(scheduled_run_key(deployment, schedule, when), when))
        assert rid >= uuid7_floor(when)
        assert rid < uuid7_floor(when + datetime.timedelta(milliseconds=1))
        assert rid > uuid7_floor(NOW - datetime.timedelta(seconds=1))
