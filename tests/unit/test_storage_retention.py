"""Run retention (SERVERFLOW_RUN_RETENTION_DAYS): which items get a TTL, and when."""

from __future__ import annotations

import datetime
import uuid

import pytest

from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import State, StateType
from shared.schemas.task_runs import TaskRun
from shared.storage import flow_runs, task_run_keys, task_run_states, task_runs

STAMP = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _run(state_type: StateType) -> tuple[TaskRun, State]:
    state = State(type=state_type, timestamp=STAMP)
    run = TaskRun(
        id=uuid.uuid4(),
        task_key="k",
        dynamic_key="0",
        state=state,
        state_id=state.id,
        state_type=state_type,
        state_name=state_type.value.title(),
    )
    return run, state


def test_runs_are_kept_forever_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SERVERFLOW_RUN_RETENTION_DAYS", raising=False)
    run, state = _run(StateType.COMPLETED)
    assert task_runs._to_item(run, task_runs._by_id(run.id, False)).expires_at is None
    assert task_run_states.to_item(run.id, state).expires_at is None


def test_finished_runs_and_states_expire_after_the_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVERFLOW_RUN_RETENTION_DAYS", "30")
    expected = int((STAMP + datetime.timedelta(days=30)).timestamp())
    finished, state = _run(StateType.COMPLETED)
    assert task_runs._to_item(finished, task_runs._by_id(finished.id, False)).expires_at == expected
    assert task_run_states.to_item(finished.id, state).expires_at == expected
    running, _ = _run(StateType.RUNNING)
    assert (
        task_runs._to_item(running, task_runs._by_id(running.id, False)).expires_at is None
    )  # only a finished run expires


def test_task_run_history_outlives_the_events_it_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The history finds a task run's client events by resource (shared/storage/events.py): a run retention
    # shorter than the events' keeps the history for the events retention + a day of client clock skew.
    monkeypatch.setenv("SERVERFLOW_RUN_RETENTION_DAYS", "1")
    monkeypatch.setenv("SERVERFLOW_EVENTS_RETENTION_DAYS", "7")
    finished, state = _run(StateType.COMPLETED)
    assert task_runs._to_item(finished, task_runs._by_id(finished.id, False)).expires_at == int(
        (STAMP + datetime.timedelta(days=1)).timestamp()
    )
    assert task_run_states.to_item(finished.id, state).expires_at == int(
        (STAMP + datetime.timedelta(days=8)).timestamp()
    )


def test_a_recorded_state_group_its_page_and_its_pointer_expire_with_its_newest_state(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVERFLOW_RUN_RETENTION_DAYS", "30")
    finished, state = _run(StateType.COMPLETED)  # a UUIDv7 state id: found through a page of state ids
    earlier = State(id=uuid.uuid4(), type=StateType.PENDING, timestamp=STAMP - datetime.timedelta(days=2))
    group = task_run_states._group(finished.id, [earlier, state])
    items = [group, *task_run_states._locators([(finished.id, str(group.SK), group.expires_at, [earlier, state])])]
    assert [item.entity for item in items] == ["task_run_state_group", "task_run_state_ids", "task_run_state_pointer"]
    assert {item.expires_at for item in items} == {int((STAMP + datetime.timedelta(days=30)).timestamp())}


def test_guards_hold_task_run_states_only_while_runs_are_kept_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    # A guard has no TTL and is found through its run: with a run retention the run would expire before the
    # history it holds, so the recorder writes groups (which expire) then.
    monkeypatch.delenv("SERVERFLOW_RUN_RETENTION_DAYS", raising=False)
    run, state = _run(StateType.COMPLETED)
    assert task_run_keys.holds_history()
    guard = task_run_keys.holding_item(task_run_keys.new_key(uuid.uuid4(), "k", "0"), run.id, [state])
    assert guard is not None and guard.expires_at is None and task_run_keys.held_states(guard, run.id) == [state]
    assert task_run_keys.held_states(guard, uuid.uuid4()) == []  # a guard names one run: only its states count
    monkeypatch.setenv("SERVERFLOW_RUN_RETENTION_DAYS", "30")
    assert not task_run_keys.holds_history()


def test_a_finished_flow_runs_index_anchor_expires_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    # The anchor carries the run's GSI1/2/3/4/7 keys (flow_run_index.py): left behind, it would list a run
    # that expired. It is rewritten when the run finishes (its expiry changed), not on other state changes.
    monkeypatch.setenv("SERVERFLOW_RUN_RETENTION_DAYS", "30")
    running = FlowRun(flow_id=uuid.uuid4(), state=State(type=StateType.RUNNING, timestamp=STAMP))
    stored_anchor = flow_runs._anchor(running)
    assert stored_anchor.expires_at is None
    retried = running.model_copy(update={"state": State(type=StateType.PENDING, timestamp=STAMP)})
    assert flow_runs._anchor_change(stored_anchor, retried) is None
    finished = running.model_copy(update={"state": State(type=StateType.COMPLETED, timestamp=STAMP)})
    rewritten = flow_runs._anchor_change(stored_anchor, finished)
    assert rewritten is not None
    assert (
        rewritten.expires_at
        == flow_runs._to_item(finished, 2).expires_at
        == int((STAMP + datetime.timedelta(days=30)).timestamp())
    )
