"""Run schemas: accept what the 3.9.1 client sends, and emit what its models accept."""

from __future__ import annotations

import datetime
import uuid

import pytest
from pydantic import ValidationError

from shared.schemas.flow_runs import FlowRun, FlowRunCreate, FlowRunPolicy, FlowRunUpdate
from shared.schemas.flows import Flow, FlowCreate, FlowUpdate
from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun, TaskRunCreate, TaskRunPolicy, TaskRunUpdate

UTC = datetime.UTC


def test_flow_create_from_client_payload_and_roundtrip():
    from prefect.client.schemas.actions import FlowCreate as ClientFlowCreate
    from prefect.client.schemas.objects import Flow as ClientFlow

    body = ClientFlowCreate(name="my-flow", tags=["a"], labels={"x": 1}).model_dump(mode="json")
    created = FlowCreate.model_validate(body)
    flow = Flow(**created.model_dump(), created=datetime.datetime(2024, 1, 1))
    client = ClientFlow.model_validate_json(flow.model_dump_json())
    assert client.name == "my-flow" and client.labels == {"x": 1}
    assert flow.model_dump(mode="json")["created"] == "2024-01-01T00:00:00Z"  # naive read as UTC


@pytest.mark.parametrize("name", ["a/b", "a%b", "a&b", "a>b", "a<b", ""])
def test_flow_name_rejects_banned_characters(name):
    with pytest.raises(ValidationError):
        FlowCreate(name=name)


def test_actions_forbid_unknown_fields_but_objects_ignore_them():
    with pytest.raises(ValidationError):
        FlowCreate(name="x", bogus=1)
    with pytest.raises(ValidationError):
        FlowUpdate(name="x")
    assert Flow.model_validate({"name": "x", "bogus": 1}).name == "x"


def test_flow_run_create_from_client_payload():
    from prefect.client.schemas.actions import FlowRunCreate as ClientFlowRunCreate
    from prefect.client.schemas.actions import StateCreate as ClientStateCreate
    from prefect.client.schemas.objects import StateType as ClientStateType

    client_body = ClientFlowRunCreate(
        flow_id=uuid.uuid4(),
        name="run-1",
        parameters={"x": 1},
        tags=["t"],
        state=ClientStateCreate(type=ClientStateType.PENDING),
        parent_task_run_id=uuid.uuid4(),
        idempotency_key="k",
    ).model_dump(mode="json", exclude_unset=True)
    created = FlowRunCreate.model_validate(client_body)
    assert created.state is not None and created.state.name == "Pending"
    assert created.parameters == {"x": 1}


def test_flow_run_name_defaults_to_slug_for_missing_null_or_empty():
    flow_id = uuid.uuid4()
    for payload in ({}, {"name": None}, {"name": ""}):
        run = FlowRunCreate.model_validate({"flow_id": str(flow_id), **payload})
        assert run.name and "-" in run.name
    assert FlowRunUpdate.model_validate({"name": None}).name  # explicit null -> slug


def test_flow_run_parameters_size_limit():
    with pytest.raises(ValidationError):
        FlowRunCreate(flow_id=uuid.uuid4(), parameters={"x": "a" * 600_000})


def test_flow_run_policy_deprecated_fields_carry_over():
    policy = FlowRunPolicy.model_validate({"max_retries": 3, "retry_delay_seconds": 5})
    assert policy.retries == 3 and policy.retry_delay == 5


def test_flow_run_json_validates_with_client_model():
    from prefect.client.schemas.objects import FlowRun as ClientFlowRun

    state = State(type="RUNNING")
    run = FlowRun(
        flow_id=uuid.uuid4(),
        state=state,
        state_id=state.id,
        state_type=state.type,
        state_name=state.name,
        run_count=1,
        start_time=datetime.datetime.now(UTC),
        total_run_time=datetime.timedelta(seconds=1.5),
        labels={"a": "b", "n": 2, "f": 1.5, "bool": True},
        empirical_policy={"retries": 2, "pause_keys": ["p"]},
        work_pool_name="pool",
        job_variables={"image": "x"},
    )
    data = run.model_dump(mode="json")
    assert data["total_run_time"] == 1.5
    client = ClientFlowRun.model_validate(data)
    assert client.state is not None and client.state.is_running()
    assert client.id == run.id and client.labels["n"] == 2 and client.labels["bool"] is True
    assert run.id.version == 7


def test_flow_run_equality_ignores_estimates():
    run = FlowRun(flow_id=uuid.uuid4())
    other = run.model_copy(update={"estimated_run_time": datetime.timedelta(seconds=9)})
    assert run == other


def test_task_run_create_from_client_and_roundtrip():
    from prefect.client.schemas.actions import TaskRunCreate as ClientTaskRunCreate
    from prefect.client.schemas.objects import TaskRun as ClientTaskRun
    from prefect.client.schemas.objects import TaskRunResult as ClientTaskRunResult

    upstream = uuid.uuid4()
    client_body = ClientTaskRunCreate(
        flow_run_id=uuid.uuid4(),
        task_key="my_task-abc",
        dynamic_key="0",
        name="my_task-0",
        task_inputs={"x": [ClientTaskRunResult(id=upstream)]},
        empirical_policy={"retries": 1, "retry_delay": [1, 2]},
    ).model_dump(mode="json", exclude_unset=True)
    created = TaskRunCreate.model_validate(client_body)
    assert created.task_inputs["x"][0].id == upstream
    task_run = TaskRun(**created.model_dump(exclude={"state", "id"}))
    client = ClientTaskRun.model_validate_json(task_run.model_dump_json())
    assert client.task_inputs["x"][0].id == upstream
    assert client.flow_run_run_count == 0


def test_task_run_input_types_and_validation():
    inputs = {
        "a": [{"input_type": "parameter", "name": "p"}],
        "b": [{"input_type": "constant", "type": "int"}],
        "c": [{"input_type": "flow_run", "id": str(uuid.uuid4())}],
    }
    tr = TaskRunCreate(task_key="k", dynamic_key="0", task_inputs=inputs)
    assert [type(v[0]).__name__ for v in tr.task_inputs.values()] == ["Parameter", "Constant", "FlowRunResult"]
    with pytest.raises(ValidationError):
        TaskRunPolicy(retry_delay=list(range(51)))
    with pytest.raises(ValidationError):
        TaskRunPolicy(retry_jitter_factor=-1)
    with pytest.raises(ValidationError):
        TaskRunCreate(task_key="k", dynamic_key="0", cache_key="x" * 2001)
    with pytest.raises(ValidationError):
        TaskRunCreate(task_key="k")  # dynamic_key required
    assert TaskRunUpdate.model_validate({"name": None}).name
