"""The scheduler's pure planning: which runs, when, with which keys and parameters."""

from __future__ import annotations

import datetime as dt
import uuid

from shared.scheduling import (
    SchedulerSettings,
    is_replaceable_scheduled_run,
    plan_scheduled_runs,
    schedule_needs_runs,
    scheduled_run_id,
    scheduled_run_key,
)
from shared.schemas.deployments import Deployment
from shared.schemas.schedules import CronSchedule, DeploymentSchedule, IntervalSchedule
from shared.schemas.states import StateType

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 1, 12, 0, 30, tzinfo=UTC)


def _deployment(**kw) -> Deployment:
    base = dict(
        id=uuid.UUID("00000000-0000-0000-0000-0000000000d1"),
        name="d",
        flow_id=uuid.UUID("00000000-0000-0000-0000-0000000000f1"),
        parameters={"x": 1, "y": "deployment"},
        tags=["t1"],
        labels={"team": "data"},
        work_queue_name="default",
        version="v1",
    )
    base.update(kw)
    return Deployment(**base)


def _schedule(schedule, **kw) -> DeploymentSchedule:
    return DeploymentSchedule(
        id=kw.pop("id", uuid.UUID("00000000-0000-0000-0000-0000000000a1")), schedule=schedule, **kw
    )


def test_hourly_cron_plans_reference_defaults() -> None:
    runs = plan_scheduled_runs(_deployment(), [_schedule(CronSchedule(cron="0 * * * *"))], NOW)
    # min_runs=3 and at least 1 hour ahead: 13:00, 14:00, 15:00.
    assert [r.expected_start_time.isoformat() for r in runs] == [
        "2024-06-01T13:00:00+00:00",
        "2024-06-01T14:00:00+00:00",
        "2024-06-01T15:00:00+00:00",
    ]
    run = runs[0]
    assert run.state.type == StateType.SCHEDULED and run.state.name == "Scheduled"
    assert run.state.state_details.scheduled_time == run.expected_start_time == run.next_scheduled_start_time
    assert run.state.message == "Flow run scheduled"
    assert run.auto_scheduled is True
    assert run.tags == ["auto-scheduled", "t1"]
    assert run.labels == {
        "team": "data",
        "prefect.flow.id": str(run.flow_id),
        "prefect.deployment.id": str(run.deployment_id),
    }
    assert run.created_by.type == "SCHEDULE" and run.created_by.display_value == "CronSchedule"
    assert run.deployment_version == "v1" and run.work_queue_name == "default"
    assert run.state_id == run.state.id


def test_frequent_schedule_fills_the_minimum_horizon_and_max_runs_caps() -> None:
    every_minute = _schedule(IntervalSchedule(interval=60, anchor_date=dt.datetime(2024, 1, 1, tzinfo=UTC)))
    runs = plan_scheduled_runs(_deployment(), [every_minute], NOW)
    assert len(runs) == 61  # 12:01 ... 13:01 reaches now + 1h
    capped = plan_scheduled_runs(_deployment(), [every_minute], NOW, settings=SchedulerSettings(max_runs=10))
    assert len(capped) == 10
    per_schedule = _schedule(every_minute.schedule, max_scheduled_runs=5)
    assert len(plan_scheduled_runs(_deployment(), [per_schedule], NOW)) == 5


def test_rare_schedule_stops_at_the_horizon() -> None:
    yearly = _schedule(CronSchedule(cron="0 0 1 1 *"))
    # 100 days ahead holds no 1 January: nothing to schedule.
    assert plan_scheduled_runs(_deployment(), [yearly], NOW) == []


def test_schedule_parameters_override_deployment_parameters() -> None:
    schedule = _schedule(CronSchedule(cron="0 * * * *"), parameters={"y": "schedule", "z": True})
    runs = plan_scheduled_runs(_deployment(), [schedule], NOW)
    assert runs[0].parameters == {"x": 1, "y": "schedule", "z": True}


def test_paused_deployment_and_inactive_schedule_plan_nothing() -> None:
    schedule = _schedule(CronSchedule(cron="0 * * * *"))
    assert plan_scheduled_runs(_deployment(paused=True), [schedule], NOW) == []
    assert plan_scheduled_runs(_deployment(), [_schedule(schedule.schedule, active=False)], NOW) == []


def test_keys_and_ids_are_deterministic_across_invocations() -> None:
    schedules = [_schedule(CronSchedule(cron="0 * * * *", timezone="America/New_York"))]
    first = plan_scheduled_runs(_deployment(), schedules, NOW)
    # A second, overlapping invocation a few seconds later plans the same ticks identically.
    second = plan_scheduled_runs(_deployment(), schedules, NOW + dt.timedelta(seconds=5))
    assert [(r.id, r.idempotency_key) for r in first] == [(r.id, r.idempotency_key) for r in second]
    assert len({r.idempotency_key for r in first}) == len(first)
    key = first[0].idempotency_key
    assert key == f"scheduled {first[0].deployment_id} {schedules[0].id} 2024-06-01T13:00:00+00:00"
    run_id = first[0].id
    assert run_id.version == 7
    # The id's time field is the scheduled time, so ids sort like the runs.
    assert int.from_bytes(run_id.bytes[:6], "big") == int(first[0].expected_start_time.timestamp() * 1000)
    assert sorted(r.id for r in first) == [r.id for r in first]


def test_key_ignores_timezone_representation() -> None:
    d, s = uuid.uuid4(), uuid.uuid4()
    instant = dt.datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    local = instant.astimezone(dt.timezone(dt.timedelta(hours=-4)))
    assert scheduled_run_key(d, s, instant) == scheduled_run_key(d, s, local)
    assert scheduled_run_id(scheduled_run_key(d, s, instant), instant) == scheduled_run_id(
        scheduled_run_key(d, s, local), local
    )


def test_existing_ticks_are_skipped() -> None:
    schedule = _schedule(CronSchedule(cron="0 * * * *"))
    existing = {schedule.id: {dt.datetime(2024, 6, 1, 13, tzinfo=UTC)}}
    runs = plan_scheduled_runs(_deployment(), [schedule], NOW, existing=existing)
    assert [r.expected_start_time.hour for r in runs] == [14, 15]


def test_two_schedules_plan_independently() -> None:
    a = _schedule(CronSchedule(cron="0 * * * *"), slug="hourly")
    b = _schedule(CronSchedule(cron="30 * * * *"), id=uuid.uuid4(), parameters={"x": 2})
    runs = plan_scheduled_runs(_deployment(), [a, b], NOW)
    assert len(runs) == 6
    assert {r.created_by.display_value for r in runs} == {"hourly", "CronSchedule"}
    assert {r.parameters["x"] for r in runs} == {1, 2}


def test_schedule_needs_runs() -> None:
    settings = SchedulerSettings()
    soon = [NOW + dt.timedelta(minutes=m) for m in (10, 20, 30)]
    assert schedule_needs_runs([], NOW) is True
    assert schedule_needs_runs(soon[:2], NOW) is True  # fewer than min_runs
    assert schedule_needs_runs(soon, NOW, settings) is True  # last one under an hour ahead
    assert schedule_needs_runs([*soon, NOW + dt.timedelta(hours=2)], NOW, settings) is False


def test_replaceable_runs_match_the_reference_delete_rule() -> None:
    run = plan_scheduled_runs(_deployment(), [_schedule(CronSchedule(cron="0 * * * *"))], NOW)[0]
    assert is_replaceable_scheduled_run(run, NOW, auto_scheduled_only=True, future_only=True)
    assert not is_replaceable_scheduled_run(run, run.next_scheduled_start_time, future_only=True)
    assert not is_replaceable_scheduled_run(run.model_copy(update={"run_count": 1}), NOW)
    assert not is_replaceable_scheduled_run(run.model_copy(update={"state_name": "AwaitingConcurrencySlot"}), NOW)
    assert not is_replaceable_scheduled_run(run.model_copy(update={"state_type": StateType.PENDING}), NOW)
    manual = run.model_copy(update={"auto_scheduled": False})
    assert is_replaceable_scheduled_run(manual, NOW) and not is_replaceable_scheduled_run(
        manual, NOW, auto_scheduled_only=True
    )
