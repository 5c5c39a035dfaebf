"""Filtering task runs: the narrowest read (task_runs.candidates), matched in Python, sorted, paged.

The reference answers the joined filters (flow runs, flows, deployments) with EXISTS
sub-queries; here they arrive as the set of flow run ids they allow, computed by queries.py
(the floor above, where the filters of several entities meet). This module reads
repositories only.
"""

from __future__ import annotations

from uuid import UUID

from shared.schemas.filters.base import FilterContext
from shared.schemas.filters.runs import TaskRunFilter
from shared.schemas.sorting import TaskRunSort, apply_sort, paginate
from shared.schemas.task_runs import TaskRun
from shared.storage import flow_runs as flow_run_store
from shared.storage import task_runs as task_run_store


def filter_context() -> FilterContext:
    return FilterContext(task_run_has_subflow=flow_run_store.has_subflow)


def filter_task_runs(
    task_runs: TaskRunFilter | None = None,
    *,
    flow_run_ids: set[UUID] | None = None,
    sort: TaskRunSort = TaskRunSort.ID_DESC,
    offset: int = 0,
    limit: int | None = None,
) -> list[TaskRun]:
    """Task runs matching `task_runs` whose flow run is in `flow_run_ids` (None: any)."""
    if flow_run_ids is not None and not flow_run_ids:
        return []
    hints = task_runs.index_hints() if task_runs is not None else {}
    ctx = filter_context()
    matched = [
        run
        for run in task_run_store.candidates(hints, flow_run_ids, task_runs)
        if (task_runs is None or task_runs.matches(run, ctx))
        and (flow_run_ids is None or run.flow_run_id in flow_run_ids)
    ]
    return paginate(apply_sort(matched, sort), offset, limit)
