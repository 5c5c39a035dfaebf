"""Sort key functions reproduce the reference's ORDER BY (PostgreSQL NULL placement)."""

from __future__ import annotations

import datetime
import uuid

from shared.schemas.flow_runs import FlowRun
from shared.schemas.sorting import FlowRunSort, FlowSort, LogSort, TaskRunSort, apply_sort, paginate
from shared.schemas.task_runs import TaskRun

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
H = datetime.timedelta(hours=1)


def test_enum_values_match_reference():
    from prefect.server.schemas import sorting as ref

    for ours, theirs in (
        (FlowRunSort, ref.FlowRunSort),
        (TaskRunSort, ref.TaskRunSort),
        (FlowSort, ref.FlowSort),
        (LogSort, ref.LogSort),
    ):
        assert {m.value for m in ours} == {m.value for m in theirs}


def test_flow_run_start_time_coalesce_and_nulls():
    a = FlowRun(flow_id=uuid.uuid4(), name="a", start_time=T0 + 2 * H)
    b = FlowRun(flow_id=uuid.uuid4(), name="b", expected_start_time=T0 + H)  # not started
    c = FlowRun(flow_id=uuid.uuid4(), name="c")  # neither -> NULL
    assert [r.name for r in apply_sort([a, b, c], FlowRunSort.START_TIME_ASC)] == ["b", "a", "c"]
    assert [r.name for r in apply_sort([a, b, c], FlowRunSort.START_TIME_DESC)] == ["c", "a", "b"]
    assert [r.name for r in apply_sort([c, b, a], FlowRunSort.NAME_DESC)] == ["c", "b", "a"]


def test_id_desc_and_tiebreak():
    runs = [FlowRun(flow_id=uuid.uuid4(), name="same") for _ in range(5)]
    by_id = sorted(runs, key=lambda r: r.id, reverse=True)
    assert apply_sort(runs, FlowRunSort.ID_DESC) == by_id
    assert apply_sort(runs, FlowRunSort.NAME_ASC) == by_id  # ties broken by id desc
    assert paginate(by_id, 1, 2) == by_id[1:3]


def test_task_run_duration_sorts():
    def tr(name, secs, start):
        return TaskRun(
            task_key="k",
            dynamic_key=name,
            name=name,
            estimated_run_time=datetime.timedelta(seconds=secs),
            expected_start_time=start,
        )

    x, y, z = tr("x", 5, T0), tr("y", 5, T0 + H), tr("z", 1, T0)
    assert [t.name for t in apply_sort([x, y, z], TaskRunSort.DURATION_DESC)] == ["y", "x", "z"]
    # ascending duration, but ties still newest-expected-start first
    assert [t.name for t in apply_sort([x, y, z], TaskRunSort.DURATION_ASC)] == ["z", "y", "x"]
