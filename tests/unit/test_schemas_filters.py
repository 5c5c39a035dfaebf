"""Filter evaluation reproduces the reference's SQL semantics; index hints are safe."""

from __future__ import annotations

import datetime
import uuid
from typing import ClassVar

import pytest
from pydantic import ValidationError

from shared.schemas.common import CreatedBy
from shared.schemas.filters.artifacts import ArtifactFilter
from shared.schemas.filters.base import FilterContext, FilterNeedsContext
from shared.schemas.filters.bodies import FlowRunFilterRequest
from shared.schemas.filters.deployments import DeploymentFilter, WorkQueueFilter
from shared.schemas.filters.limits import LimitError, resolve_limit
from shared.schemas.filters.logs import LogFilter
from shared.schemas.filters.runs import FlowFilter, FlowRunFilter, TaskRunFilter
from shared.schemas.flow_runs import FlowRun
from shared.schemas.flows import Flow
from shared.schemas.logs import Log
from shared.schemas.task_runs import TaskRun

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def run(**kw):
    return FlowRun(flow_id=uuid.uuid4(), **kw)


def test_empty_filters_match_everything():
    assert FlowRunFilter().matches(run())
    assert FlowRunFilter(id={}).matches(run())


def test_any_and_not_any():
    r = run()
    assert FlowRunFilter(id={"any_": [r.id]}).matches(r)
    assert not FlowRunFilter(id={"any_": []}).matches(r)  # IN () selects nothing
    assert FlowRunFilter(id={"not_any_": []}).matches(r)  # empty NOT IN is ignored
    assert not FlowRunFilter(id={"not_any_": [r.id]}).matches(r)


def test_null_never_satisfies_in_or_not_in():
    r = run(idempotency_key=None)
    assert not FlowRunFilter(idempotency_key={"not_any_": ["x"]}).matches(r)
    assert not FlowRunFilter(state={"type": {"not_any_": ["RUNNING"]}}).matches(r)


def test_like_is_case_insensitive_substring_with_sql_wildcards():
    r = run(name="Brave-Otter")
    assert FlowRunFilter(name={"like_": "otter"}).matches(r)
    assert FlowRunFilter(name={"like_": "br%ot"}).matches(r)
    assert FlowRunFilter(name={"like_": "brave_otter"}).matches(r)
    assert not FlowRunFilter(name={"like_": "falcon"}).matches(r)


def test_tags_all_any_is_null_and_operator():
    r = run(tags=["a", "b"])
    assert FlowRunFilter(tags={"all_": ["a", "b"]}).matches(r)
    assert not FlowRunFilter(tags={"all_": ["a", "c"]}).matches(r)
    assert FlowRunFilter(tags={"any_": ["c", "b"]}).matches(r)
    assert not FlowRunFilter(tags={"is_null_": True}).matches(r)
    assert FlowRunFilter(tags={"is_null_": True}).matches(run())
    assert FlowRunFilter(tags={"operator": "or_", "all_": ["z"], "any_": ["a"]}).matches(r)
    assert not FlowRunFilter(tags={"all_": ["z"], "any_": ["a"]}).matches(r)


def test_top_level_operator_or():
    r = run(tags=["a"], state_type="RUNNING")
    f = FlowRunFilter(operator="or_", tags={"all_": ["zzz"]}, state={"type": {"any_": ["RUNNING"]}})
    assert f.matches(r)
    assert f.index_hints() == {}
    assert not FlowRunFilter(tags={"all_": ["zzz"]}, state={"type": {"any_": ["RUNNING"]}}).matches(r)


def test_state_type_and_name_operator():
    r = run(state_type="SCHEDULED", state_name="Late")
    assert FlowRunFilter(state={"type": {"any_": ["SCHEDULED"]}, "name": {"any_": ["Late"]}}).matches(r)
    assert FlowRunFilter(state={"operator": "or_", "type": {"any_": ["RUNNING"]}, "name": {"any_": ["Late"]}}).matches(
        r
    )
    with pytest.raises(ValidationError):
        FlowRunFilter(state={"type": {"any_": ["NOPE"]}})


def test_time_ranges_inclusive_and_start_time_coalesce():
    r = run(expected_start_time=T0, start_time=None, end_time=None)
    assert FlowRunFilter(start_time={"after_": T0, "before_": T0}).matches(r)  # uses expected
    assert FlowRunFilter(start_time={"is_null_": True}).matches(r)
    assert not FlowRunFilter(end_time={"before_": T0}).matches(r)
    assert FlowRunFilter(end_time={"is_null_": True}).matches(r)
    later = T0 + datetime.timedelta(hours=1)
    assert not FlowRunFilter(expected_start_time={"after_": later}).matches(r)
    # naive bounds are UTC
    assert FlowRunFilter(expected_start_time={"before_": "2024-01-01T00:00:00"}).matches(r)


def test_deployment_work_queue_parent_and_created_by():
    dep = uuid.uuid4()
    r = run(deployment_id=dep, work_queue_name="default", created_by=CreatedBy(type="AUTOMATION", id=uuid.uuid4()))
    assert FlowRunFilter(deployment_id={"any_": [dep]}).matches(r)
    assert not FlowRunFilter(deployment_id={"is_null_": True}).matches(r)
    assert FlowRunFilter(deployment_id={"operator": "or_", "any_": [uuid.uuid4()], "is_null_": False}).matches(r)
    assert FlowRunFilter(work_queue_name={"any_": ["default"]}).matches(r)
    assert FlowRunFilter(parent_task_run_id={"is_null_": True}).matches(r)
    assert FlowRunFilter(created_by={"type_": ["AUTOMATION"]}).matches(r)
    assert not FlowRunFilter(created_by={"is_null_": True}).matches(r)


def test_parent_flow_run_id_needs_context():
    parent_task, parent_flow_run = uuid.uuid4(), uuid.uuid4()
    r = run(parent_task_run_id=parent_task)
    f = FlowRunFilter(parent_flow_run_id={"any_": [parent_flow_run]})
    with pytest.raises(FilterNeedsContext):
        f.matches(r)
    ctx = FilterContext(task_run_flow_run_id=lambda tid: parent_flow_run if tid == parent_task else None)
    assert f.matches(r, ctx)
    assert not f.matches(run(), ctx)


def test_index_hints():
    ptr = uuid.uuid4()
    hints = FlowRunFilter(parent_task_run_id={"any_": [ptr]}, state={"type": {"any_": ["RUNNING"]}}).index_hints()
    assert hints == {"parent_task_run_id": [ptr], "state_type": ["RUNNING"]}
    assert FlowRunFilter(deployment_id={"operator": "or_", "any_": [ptr], "is_null_": True}).index_hints() == {}
    fr = uuid.uuid4()
    assert TaskRunFilter(flow_run_id={"any_": [fr]}).index_hints() == {"flow_run_id": [fr]}
    assert FlowFilter(id={"any_": [fr]}, name={"any_": ["x"]}).index_hints() == {"id": [fr], "name": ["x"]}


def test_range_hints_are_the_windows_every_match_lies_in():
    day = datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)
    later = day + datetime.timedelta(hours=6)
    window = {"after_": day, "before_": later}
    assert FlowRunFilter(expected_start_time=window).range_hints() == {"expected_start_time": (day, later)}
    # AND: the window holds with other criteria; an OR of several criteria guarantees none of them.
    both = FlowRunFilter(expected_start_time={"after_": day}, name={"any_": ["x"]})
    assert both.range_hints() == {"expected_start_time": (day, None)}
    assert FlowRunFilter(operator="or_", expected_start_time=window, name={"any_": ["x"]}).range_hints() == {}
    # start_time bounds COALESCE(start_time, expected_start_time): no window on either attribute.
    assert FlowRunFilter(start_time=window).range_hints() == {}


def test_task_run_flow_run_id_default_excludes_orphans():
    orphan = TaskRun(task_key="k", dynamic_key="0")
    attached = TaskRun(task_key="k", dynamic_key="0", flow_run_id=uuid.uuid4())
    f = TaskRunFilter(flow_run_id={})
    assert not f.matches(orphan) and f.matches(attached)
    assert TaskRunFilter(flow_run_id={"is_null_": True}).matches(orphan)
    assert TaskRunFilter(flow_run_id={"any_": [attached.flow_run_id]}).matches(attached)


def test_flow_filter_and_deployment_context():
    flow = Flow(name="etl", tags=["x"])
    assert FlowFilter(name={"like_": "ET"}, tags={"all_": ["x"]}).matches(flow)
    ctx = FilterContext(flow_has_deployment=lambda fid: False)
    assert FlowFilter(deployment={"is_null_": True}).matches(flow, ctx)


def test_deployment_filter_on_any_object():
    class Dep:
        id = uuid.uuid4()
        name = "nightly"
        flow_id = uuid.uuid4()
        paused = False
        tags: ClassVar[list[str]] = ["prod"]
        work_queue_name = "default"

    ctx = FilterContext(flow_name=lambda fid: "etl-flow")
    assert DeploymentFilter(flow_or_deployment_name={"like_": "etl"}).matches(Dep(), ctx)
    assert DeploymentFilter(paused={"eq_": False}, tags={"any_": ["prod"]}).matches(Dep())
    assert DeploymentFilter(concurrency_limit={"ge_": 5}).matches(Dep())  # ignored, as the reference


def test_work_queue_startswith():
    class Q:
        id = uuid.uuid4()
        name = "Prod-high"

    assert WorkQueueFilter(name={"startswith_": ["prod"]}).matches(Q())
    assert not WorkQueueFilter(name={"startswith_": ["high"]}).matches(Q())


def test_log_filter_and_text_search():
    fr = uuid.uuid4()
    log = Log(
        name="prefect.flow_runs", level=40, message="Connection timeout while reading", timestamp=T0, flow_run_id=fr
    )
    assert LogFilter(level={"ge_": 40}, flow_run_id={"any_": [fr]}).matches(log)
    assert not LogFilter(level={"le_": 30}).matches(log)
    assert LogFilter(text={"query": '"connection timeout"'}).matches(log)
    assert LogFilter(text={"query": "error flow_runs"}).matches(log)
    assert not LogFilter(text={"query": "timeout -reading"}).matches(log)
    assert not LogFilter(text={"query": "+timeout +missing"}).matches(log)
    with pytest.raises(ValidationError):
        LogFilter(text={"query": "x" * 201})
    assert LogFilter(flow_run_id={"any_": [fr]}).index_hints() == {"flow_run_id": [fr]}


def test_artifact_filter():
    class A:
        id = uuid.uuid4()
        key = None
        type = "markdown"
        flow_run_id = None
        task_run_id = None

    assert ArtifactFilter(key={"exists_": False}, type={"not_any_": ["result"]}).matches(A())
    assert not ArtifactFilter(type={"not_any_": ["markdown"]}).matches(A())


def test_filters_forbid_unknown_keys_and_bodies_ignore_them():
    with pytest.raises(ValidationError):
        FlowRunFilter.model_validate({"state": {"type": {"anyy_": ["RUNNING"]}}})
    body = FlowRunFilterRequest.model_validate({"flow_runs": {}, "whatever": 1, "sort": "START_TIME_DESC"})
    assert body.sort.value == "START_TIME_DESC" and body.offset == 0
    with pytest.raises(ValidationError):
        FlowRunFilterRequest.model_validate({"sort": "NOPE"})
    with pytest.raises(ValidationError):
        FlowRunFilterRequest.model_validate({"offset": -1})


def test_limit_rules():
    assert resolve_limit(None) == 200
    assert resolve_limit(0) == 0
    with pytest.raises(LimitError, match="less than or equal to 200"):
        resolve_limit(201)
    with pytest.raises(LimitError, match="greater than or equal to 0"):
        resolve_limit(-1)


def test_client_filter_json_is_accepted():
    """Bodies the 3.9.1 client builds (e.g. subflow lookup, cancellation polling) validate."""
    from prefect.client.schemas.filters import (
        FlowRunFilter as CFlowRunFilter,
    )
    from prefect.client.schemas.filters import (
        FlowRunFilterParentTaskRunId,
        FlowRunFilterState,
        FlowRunFilterStateName,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType as CStateType

    ptr = uuid.uuid4()
    for client_filter in (
        CFlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[ptr])),
        CFlowRunFilter(state=FlowRunFilterState(name=FlowRunFilterStateName(any_=["Cancelling"]))),
        CFlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[CStateType.CANCELLING]))),
    ):
        body = {"flow_runs": client_filter.model_dump(mode="json"), "limit": 1, "offset": 0, "sort": "ID_DESC"}
        FlowRunFilterRequest.model_validate(body)
    body = {
        "flow_runs": CFlowRunFilter(parent_task_run_id=FlowRunFilterParentTaskRunId(any_=[ptr])).model_dump(mode="json")
    }
    parsed = FlowRunFilterRequest.model_validate(body)
    assert parsed.flow_runs.matches(run(parent_task_run_id=ptr))
