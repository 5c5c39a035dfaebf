"""Deployment, schedule and work-pool payloads: shapes as 3.9.1, clear validation errors."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from pydantic import ValidationError

from shared.scheduling import (
    JobVariablesError,
    merge_job_variables,
    validate_deployment_job_variables,
    validate_flow_run_job_variables,
    validate_work_pool_defaults,
)
from shared.schemas.deployments import Deployment, DeploymentCreate, DeploymentFlowRunCreate, DeploymentUpdate
from shared.schemas.schedules import (
    CronSchedule,
    DeploymentSchedule,
    DeploymentScheduleCreate,
    DeploymentScheduleUpdate,
    IntervalSchedule,
    RRuleSchedule,
    normalize_rrule_string,
)
from shared.schemas.work_pools import (
    Worker,
    WorkerStatus,
    WorkPool,
    WorkPoolCreate,
    WorkQueue,
    WorkQueueCreate,
    worker_status,
)

prefect_actions = pytest.importorskip("prefect.server.schemas.actions")
prefect_core = pytest.importorskip("prefect.server.schemas.core")
prefect_responses = pytest.importorskip("prefect.server.schemas.responses")
prefect_schedules = pytest.importorskip("prefect.server.schemas.schedules")

FLOW = uuid.UUID("00000000-0000-0000-0000-0000000000f1")


def _errors(model, **data) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model(**data)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in info.value.errors()]


# --- bad schedules give one clear error ------------------------------------------


@pytest.mark.parametrize(
    "schedule,expected",
    [
        ({"cron": "not a cron"}, 'Invalid cron string: "not a cron"'),
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, 'Invalid timezone: "Mars/Olympus"'),
        ({"interval": 0}, "interval must be positive"),
        ({"interval": -60}, "interval must be positive"),
        ({"rrule": "FREQ=SOMETIMES"}, 'Invalid RRule string "FREQ=SOMETIMES"'),
        ({"rrule": "FREQ=DAILY", "timezone": "Nowhere/Land"}, 'Invalid timezone: "Nowhere/Land"'),
        ({"rrule": "RDATE:" + ",".join(["20240101T000000Z"] * 500)}, "Max length is 6500"),
        ({"every": "day"}, "needs one of the keys 'interval', 'cron' or 'rrule'"),
    ],
)
def test_bad_schedules_fail_with_one_clear_message(schedule, expected) -> None:
    errors = _errors(DeploymentScheduleCreate, schedule=schedule)
    assert len(errors) == 1, errors
    assert expected in errors[0]
    # The reference rejects the same inputs.
    with pytest.raises(ValidationError):
        prefect_actions.DeploymentScheduleCreate(schedule=schedule)


def test_unknown_schedule_fields_and_too_many_runs_are_rejected() -> None:
    assert _errors(DeploymentScheduleCreate, schedule={"cron": "* * * * *", "foo": 1})
    errors = _errors(DeploymentScheduleCreate, schedule={"cron": "* * * * *"}, max_scheduled_runs=51)
    assert "must be less than or equal to 50" in errors[0]


# --- shapes as the reference ------------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        {"cron": "0 9 * * *"},
        {"cron": "0 9 * * *", "timezone": "America/New_York", "day_or": False},
        {"interval": 3600, "anchor_date": "2024-01-01T00:00:00Z"},
        {"interval": 90.5, "anchor_date": "2024-01-01T00:00:00", "timezone": "Europe/London"},
        {"rrule": "DTSTART:20240101T090000\nRRULE:FREQ=DAILY"},
        {"rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Asia/Tokyo"},
    ],
)
def test_schedule_json_matches_reference(schedule) -> None:
    body = {"schedule": schedule, "parameters": {"a": 1}, "slug": "s"}
    ours = DeploymentScheduleCreate(**body).model_dump(mode="json")
    theirs = prefect_actions.DeploymentScheduleCreate(**body).model_dump(mode="json")
    assert ours == theirs


def test_rrule_normalisation_matches_reference() -> None:
    now = dt.datetime(2025, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    from prefect._internal.schemas.validators import normalize_rrule_string as reference

    for rule, tz in [
        ("FREQ=MINUTELY;INTERVAL=7", "UTC"),
        ("FREQ=SECONDLY;INTERVAL=45", "America/New_York"),
        ("FREQ=MINUTELY;COUNT=3", "UTC"),
        ("FREQ=DAILY", "UTC"),
        ("DTSTART:20240101T000000\nRRULE:FREQ=MINUTELY", "UTC"),
        ("RRULE:FREQ=DAILY\nEXDATE:20240101T000000", "UTC"),
    ]:
        assert normalize_rrule_string(rule, timezone=tz, now=now) == reference(rule, timezone=tz, now=now)


def test_stored_schedule_roundtrip_and_interval_timezone_inference() -> None:
    stored = DeploymentSchedule(schedule={"interval": 60, "anchor_date": "2024-01-01T00:00:00-05:00"}, active=False)
    again = DeploymentSchedule.model_validate_json(stored.model_dump_json())
    assert again == stored
    assert stored.schedule.timezone == "UTC"  # offsets carry no zone name, as in the reference
    assert isinstance(stored.schedule, IntervalSchedule)
    assert isinstance(DeploymentSchedule(schedule=CronSchedule(cron="* * * * *")).schedule, CronSchedule)
    assert isinstance(DeploymentSchedule(schedule={"rrule": "FREQ=DAILY"}).schedule, RRuleSchedule)
    update = DeploymentScheduleUpdate(active=False)
    assert update.model_dump(exclude_unset=True) == {"active": False}


def _reference_fields(model) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (Deployment, "responses.DeploymentResponse"),
        (DeploymentCreate, "actions.DeploymentCreate"),
        (DeploymentUpdate, "actions.DeploymentUpdate"),
        (DeploymentFlowRunCreate, "actions.DeploymentFlowRunCreate"),
        (DeploymentSchedule, "core.DeploymentSchedule"),
        (WorkPoolCreate, "actions.WorkPoolCreate"),
        (WorkQueueCreate, "actions.WorkQueueCreate"),
        (WorkPool, "responses.WorkPoolResponse"),
        (WorkQueue, "responses.WorkQueueResponse"),
        (Worker, "responses.WorkerResponse"),
    ],
)
def test_field_names_match_reference(ours, theirs) -> None:
    module, name = theirs.split(".")
    reference = getattr(
        {"responses": prefect_responses, "actions": prefect_actions, "core": prefect_core}[module], name
    )
    assert set(ours.model_fields) == _reference_fields(reference)


def test_deployment_defaults_match_reference() -> None:
    body = {"name": "d", "flow_id": str(FLOW)}
    ours = DeploymentCreate(**body).model_dump(mode="json")
    theirs = prefect_actions.DeploymentCreate(**body).model_dump(mode="json")
    assert ours == theirs


def test_deployment_create_rules() -> None:
    # Old clients' fields are dropped, not a 422.
    assert DeploymentCreate(name="d", flow_id=FLOW, worker_pool_name="x").name == "d"
    errors = _errors(
        DeploymentCreate, name="d", flow_id=FLOW, concurrency_limit=1, global_concurrency_limit_id=str(uuid.uuid4())
    )
    assert "cannot have both a concurrency limit and a global concurrency limit" in errors[0]
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    ok = DeploymentCreate(
        name="d", flow_id=FLOW, enforce_parameter_schema=True, parameter_openapi_schema=schema, parameters={}
    )
    assert ok.parameters == {}  # required is ignored on the deployment
    errors = _errors(
        DeploymentCreate,
        name="d",
        flow_id=FLOW,
        enforce_parameter_schema=True,
        parameter_openapi_schema=schema,
        parameters={"n": "x"},
    )
    assert "Validation failed for field 'n'. Failure reason: 'x' is not of type 'integer'" in errors[0]
    assert _errors(DeploymentCreate, name="d", flow_id=FLOW, unexpected=1)


def test_flow_run_from_deployment_gets_a_name() -> None:
    assert DeploymentFlowRunCreate().name
    assert DeploymentFlowRunCreate(name=None).name


def test_work_pool_template_and_worker_status() -> None:
    template = {
        "job_configuration": {"command": "{{ command }}", "image": "{{ image }}"},
        "variables": {"properties": {"command": {}}},
    }
    errors = _errors(WorkPoolCreate, name="p", base_job_template=template)
    assert "undeclared variable(s): image" in errors[0]
    assert _errors(WorkPoolCreate, name="  ")
    assert WorkPoolCreate(name="p").type == "prefect-agent"
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert worker_status(now - dt.timedelta(seconds=80), None, now) == WorkerStatus.ONLINE
    assert worker_status(now - dt.timedelta(seconds=95), None, now) == WorkerStatus.OFFLINE
    assert worker_status(now - dt.timedelta(seconds=95), 60, now) == WorkerStatus.ONLINE


# --- job variables ---------------------------------------------------------------

TEMPLATE = {
    "job_configuration": {"image": "{{ image }}", "cpu": "{{ cpu }}", "env": "{{ env }}"},
    "variables": {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {"type": "string"},
            "cpu": {"type": "integer", "default": 1},
            "env": {"type": "object", "default": {"A": "1"}},
        },
    },
}


def test_job_variables_overlay_order() -> None:
    merged = merge_job_variables(TEMPLATE, {"cpu": 2, "image": "dep"}, {"image": "run"})
    assert merged == {"cpu": 2, "env": {"A": "1"}, "image": "run"}


def test_required_job_variables_checked_only_for_flow_runs() -> None:
    validate_deployment_job_variables(TEMPLATE, {"cpu": 4})  # image may come later
    with pytest.raises(JobVariablesError) as info:
        validate_flow_run_job_variables(TEMPLATE, {"cpu": 4}, {})
    assert (
        str(info.value) == "Error creating flow run: Validation failed. Failure reason: 'image' is a required property"
    )
    validate_flow_run_job_variables(TEMPLATE, {"cpu": 4}, {"image": "python:3.12"})
    validate_flow_run_job_variables(TEMPLATE, {"image": "python:3.12"}, None)


def test_job_variable_types_checked_with_clear_messages() -> None:
    with pytest.raises(JobVariablesError) as info:
        validate_deployment_job_variables(TEMPLATE, {"cpu": "lots"}, creating=False)
    assert (
        str(info.value)
        == "Error updating deployment: Validation failed for field 'cpu'. Failure reason: 'lots' is not of type 'integer', 'null'"
    )
    # No template or no variables schema: nothing to check against, not an error.
    validate_flow_run_job_variables({}, {"anything": 1}, None)
    validate_flow_run_job_variables(None, None, None)


def test_invalid_pool_defaults() -> None:
    bad = {
        "job_configuration": {"cpu": "{{ cpu }}"},
        "variables": {
            "type": "object",
            "required": ["cpu"],
            "properties": {"cpu": {"type": "integer", "default": "one"}},
        },
    }
    with pytest.raises(JobVariablesError, match="Validation failed for work pool's job variable defaults"):
        validate_work_pool_defaults(bad)
    # For runs the invalid default is ignored, and then `required` cannot be enforced.
    validate_flow_run_job_variables(bad, None, None)


def test_block_reference_defaults_use_the_resolver() -> None:
    template = {
        "job_configuration": {"creds": "{{ creds }}"},
        "variables": {"properties": {"creds": {"type": "object", "default": {"$ref": {"block_document_id": "b1"}}}}},
    }
    resolved = merge_job_variables(template, resolve_ref=lambda ref: {"key": ref["block_document_id"]})
    assert resolved == {"creds": {"key": "b1"}}
    assert merge_job_variables(template) == {}
