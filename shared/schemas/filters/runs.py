"""Filters over flows, flow runs and task runs (bodies of /flows, /flow_runs, /task_runs filter)."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from shared.schemas.filters.base import (
    DateTime,
    FilterBaseModel,
    FilterContext,
    Hints,
    LeafCounting,
    OperatorFilterBaseModel,
    Ranges,
    has_all,
    has_any,
    ilike_contains,
    is_empty,
    is_in,
    need_resolver,
    not_in,
    on_or_after,
    on_or_before,
)
from shared.schemas.states import StateType


def _get(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, None)


# --- shared leaf shapes ----------------------------------------------------------


class _IdAnyNotAny(FilterBaseModel):
    any_: list[UUID] | None = None
    not_any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(_get(obj, "id"), self.any_))
        if self.not_any_:
            checks.append(not_in(_get(obj, "id"), self.not_any_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return [{"id": list(self.any_)}] if self.any_ is not None else []


class _NameAnyLike(FilterBaseModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(_get(obj, "name"), self.any_))
        if self.like_:
            checks.append(ilike_contains(_get(obj, "name"), self.like_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return [{"name": list(self.any_)}] if self.any_ is not None else []


class _TimeRange(FilterBaseModel):
    """before_/after_ are inclusive bounds on one datetime attribute."""

    _attr: ClassVar[str] = ""
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _value(self, obj: Any) -> Any:
        return _get(obj, self._attr)

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.before_ is not None:
            checks.append(on_or_before(self._value(obj), self.before_))
        if self.after_ is not None:
            checks.append(on_or_after(self._value(obj), self.after_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return []

    def _own_ranges(self) -> list[Ranges]:
        if self.before_ is None and self.after_ is None:
            return []
        return [{self._attr: (self.after_, self.before_)}]


class _TimeRangeNullable(_TimeRange):
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = super()._checks(obj, ctx)
        if self.is_null_ is not None:
            # is_null_ looks at the raw column even where before_/after_ use a fallback.
            checks.append((_get(obj, self._attr) is None) == self.is_null_)
        return checks


class _Tags(LeafCounting, OperatorFilterBaseModel):
    """Tags: all_ = superset, any_ = overlap, is_null_ = no tags at all."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ("all_", "is_null_")
    all_: list[str] | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        tags = _get(obj, "tags")
        checks = []
        if self.all_:
            checks.append(has_all(tags, self.all_))
        any_ = getattr(self, "any_", None)
        if any_ is not None:
            checks.append(has_any(tags, any_))
        if self.is_null_ is not None:
            checks.append(is_empty(tags) == self.is_null_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return []


class _TagsWithAny(_Tags):
    _criteria_fields: ClassVar[tuple[str, ...]] = ("all_", "any_", "is_null_")
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: bool | None = None


# --- flows -------------------------------------------------------------------------


class FlowFilterId(_IdAnyNotAny):
    """Flow.id in any_ / not in not_any_."""


class FlowFilterDeployment(LeafCounting, OperatorFilterBaseModel):
    """is_null_: True = flows without any deployment (needs FilterContext.flow_has_deployment)."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ("is_null_",)
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if self.is_null_ is None:
            return []
        has_deployment = need_resolver(ctx, "flow_has_deployment")(_get(obj, "id"))
        return [has_deployment != self.is_null_]

    def _own_hints(self) -> list[Hints]:
        return []


class FlowFilterName(_NameAnyLike):
    """Flow.name in any_, or ILIKE %like_%."""


class FlowFilterTags(_Tags):
    """Flow.tags superset of all_; is_null_ = no tags."""


class FlowFilter(OperatorFilterBaseModel):
    id: FlowFilterId | None = None
    deployment: FlowFilterDeployment | None = None
    name: FlowFilterName | None = None
    tags: FlowFilterTags | None = None


# --- flow runs ---------------------------------------------------------------------


class FlowRunFilterId(_IdAnyNotAny):
    """FlowRun.id in any_ / not in not_any_."""


class FlowRunFilterName(_NameAnyLike):
    """FlowRun.name in any_, or ILIKE %like_%."""


class FlowRunFilterTags(_TagsWithAny):
    """FlowRun.tags: all_ (superset), any_ (overlap), is_null_."""


class _NullableAny(LeafCounting, OperatorFilterBaseModel):
    """attr in any_ and/or attr IS [NOT] NULL, combined with `operator`."""

    _attr: ClassVar[str] = ""
    _criteria_fields: ClassVar[tuple[str, ...]] = ("any_", "is_null_")

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        value = _get(obj, self._attr)
        checks = []
        if self.any_ is not None:  # type: ignore[attr-defined]  # a field each subclass declares
            checks.append(is_in(value, self.any_))  # type: ignore[attr-defined]  # a field each subclass declares
        if self.is_null_ is not None:  # type: ignore[attr-defined]  # a field each subclass declares
            checks.append((value is None) == self.is_null_)  # type: ignore[attr-defined]  # a field each subclass declares
        return checks

    def _own_hints(self) -> list[Hints]:
        any_ = getattr(self, "any_", None)
        return [{self._attr: list(any_)}] if any_ is not None else []


class FlowRunFilterDeploymentId(_NullableAny):
    _attr: ClassVar[str] = "deployment_id"
    any_: list[UUID] | None = None
    is_null_: bool | None = None


class FlowRunFilterWorkQueueName(_NullableAny):
    _attr: ClassVar[str] = "work_queue_name"
    any_: list[str] | None = None
    is_null_: bool | None = None


class FlowRunFilterStateType(FilterBaseModel):
    any_: list[StateType] | None = None
    not_any_: list[StateType] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(_get(obj, "state_type"), self.any_))
        if self.not_any_:
            checks.append(not_in(_get(obj, "state_type"), self.not_any_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return [{"state_type": list(self.any_)}] if self.any_ is not None else []


class FlowRunFilterStateName(FilterBaseModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(_get(obj, "state_name"), self.any_))
        if self.not_any_:
            checks.append(not_in(_get(obj, "state_name"), self.not_any_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return [{"state_name": list(self.any_)}] if self.any_ is not None else []


class _StateCompound(OperatorFilterBaseModel):
    """type/name sub-filters; an empty sub-filter is skipped (not counted as TRUE)."""

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        for sub in (self.type, self.name):  # type: ignore[attr-defined]  # a field each subclass declares
            if sub is not None and sub._checks(obj, ctx):
                checks.append(sub.matches(obj, ctx))
        return checks

    def _criteria_count(self) -> int:
        return sum(
            True
            for sub in (self.type, self.name)  # type: ignore[attr-defined]  # a field each subclass declares
            if sub is not None and sub.model_dump(exclude_none=True)
        )


class FlowRunFilterState(_StateCompound):
    type: FlowRunFilterStateType | None = None
    name: FlowRunFilterStateName | None = None


class FlowRunFilterFlowVersion(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "flow_version"), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [{"flow_version": list(self.any_)}] if self.any_ is not None else []


class FlowRunFilterStartTime(_TimeRangeNullable):
    """before_/after_ compare COALESCE(start_time, expected_start_time); is_null_ uses start_time."""

    _attr: ClassVar[str] = "start_time"

    def _value(self, obj: Any) -> Any:
        start = _get(obj, "start_time")
        return start if start is not None else _get(obj, "expected_start_time")

    def _own_ranges(self) -> list[Ranges]:
        return []  # bounds a fallback of two attributes, not start_time itself


class FlowRunFilterEndTime(_TimeRangeNullable):
    _attr: ClassVar[str] = "end_time"


class FlowRunFilterExpectedStartTime(_TimeRange):
    _attr: ClassVar[str] = "expected_start_time"


class FlowRunFilterNextScheduledStartTime(_TimeRange):
    _attr: ClassVar[str] = "next_scheduled_start_time"


class FlowRunFilterParentFlowRunId(LeafCounting, OperatorFilterBaseModel):
    """Subflow runs of the given flow runs (via the parent task run's flow_run_id)."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ("any_",)
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if self.any_ is None:
            return []
        parent_task_run_id = _get(obj, "parent_task_run_id")
        if parent_task_run_id is None:
            return [False]
        owner = need_resolver(ctx, "task_run_flow_run_id")(parent_task_run_id)
        return [is_in(owner, self.any_)]

    def _own_hints(self) -> list[Hints]:
        return []


class FlowRunFilterParentTaskRunId(_NullableAny):
    _attr: ClassVar[str] = "parent_task_run_id"
    any_: list[UUID] | None = None
    is_null_: bool | None = None


class FlowRunFilterIdempotencyKey(FilterBaseModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(_get(obj, "idempotency_key"), self.any_))
        if self.not_any_:
            checks.append(not_in(_get(obj, "idempotency_key"), self.not_any_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return [{"idempotency_key": list(self.any_)}] if self.any_ is not None else []


class FlowRunFilterCreatedBy(LeafCounting, OperatorFilterBaseModel):
    """created_by.id in id_, created_by.type in type_, created_by IS [NOT] NULL."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ("id_", "type_", "is_null_")
    id_: list[UUID] | None = None
    type_: list[str] | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        created_by = _get(obj, "created_by")
        checks = []
        if self.id_ is not None:
            checks.append(created_by is not None and is_in(_get(created_by, "id"), self.id_))
        if self.type_ is not None:
            checks.append(created_by is not None and is_in(_get(created_by, "type"), self.type_))
        if self.is_null_ is not None:
            checks.append((created_by is None) == self.is_null_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return []


class FlowRunFilter(OperatorFilterBaseModel):
    id: FlowRunFilterId | None = None
    name: FlowRunFilterName | None = None
    tags: FlowRunFilterTags | None = None
    deployment_id: FlowRunFilterDeploymentId | None = None
    work_queue_name: FlowRunFilterWorkQueueName | None = None
    state: FlowRunFilterState | None = None
    flow_version: FlowRunFilterFlowVersion | None = None
    start_time: FlowRunFilterStartTime | None = None
    end_time: FlowRunFilterEndTime | None = None
    expected_start_time: FlowRunFilterExpectedStartTime | None = None
    next_scheduled_start_time: FlowRunFilterNextScheduledStartTime | None = None
    parent_flow_run_id: FlowRunFilterParentFlowRunId | None = None
    parent_task_run_id: FlowRunFilterParentTaskRunId | None = None
    idempotency_key: FlowRunFilterIdempotencyKey | None = None
    created_by: FlowRunFilterCreatedBy | None = None


# --- task runs ---------------------------------------------------------------------


class TaskRunFilterFlowRunId(LeafCounting, OperatorFilterBaseModel):
    """Note the default is_null_=False: by default only task runs that belong to a flow run."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ("any_", "is_null_")
    any_: list[UUID] | None = None
    is_null_: bool | None = False

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        value = _get(obj, "flow_run_id")
        # Mirrors the reference: is_null_=True wins; is_null_=False only applies when
        # no ids are given; otherwise the ids decide.
        if self.is_null_ is True:
            return [value is None]
        if self.is_null_ is False and self.any_ is None:
            return [value is not None]
        if self.any_ is not None:
            return [is_in(value, self.any_)]
        return []

    def _own_hints(self) -> list[Hints]:
        if self.is_null_ is not True and self.any_ is not None:
            return [{"flow_run_id": list(self.any_)}]
        return []

    def _criteria_count(self) -> int:
        return 1  # the reference emits at most one criterion


class TaskRunFilterId(FilterBaseModel):
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "id"), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [{"id": list(self.any_)}] if self.any_ is not None else []


class TaskRunFilterName(_NameAnyLike):
    """TaskRun.name in any_, or ILIKE %like_%."""


class TaskRunFilterTags(_Tags):
    """TaskRun.tags superset of all_; is_null_ = no tags."""


class TaskRunFilterStateType(FilterBaseModel):
    any_: list[StateType] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "state_type"), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [{"state_type": list(self.any_)}] if self.any_ is not None else []


class TaskRunFilterStateName(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "state_name"), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [{"state_name": list(self.any_)}] if self.any_ is not None else []


class TaskRunFilterState(_StateCompound):
    type: TaskRunFilterStateType | None = None
    name: TaskRunFilterStateName | None = None


class TaskRunFilterSubFlowRuns(FilterBaseModel):
    """exists_: is / is not the parent task of a subflow run (needs FilterContext)."""

    exists_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if self.exists_ is None:
            return []
        has_subflow = need_resolver(ctx, "task_run_has_subflow")(_get(obj, "id"))
        return [has_subflow == self.exists_]

    def _own_hints(self) -> list[Hints]:
        return []


class TaskRunFilterStartTime(_TimeRangeNullable):
    _attr: ClassVar[str] = "start_time"


class TaskRunFilterEndTime(_TimeRangeNullable):
    _attr: ClassVar[str] = "end_time"


class TaskRunFilterExpectedStartTime(_TimeRange):
    _attr: ClassVar[str] = "expected_start_time"


class TaskRunFilter(OperatorFilterBaseModel):
    id: TaskRunFilterId | None = None
    name: TaskRunFilterName | None = None
    tags: TaskRunFilterTags | None = None
    state: TaskRunFilterState | None = None
    start_time: TaskRunFilterStartTime | None = None
    end_time: TaskRunFilterEndTime | None = None
    expected_start_time: TaskRunFilterExpectedStartTime | None = None
    subflow_runs: TaskRunFilterSubFlowRuns | None = None
    flow_run_id: TaskRunFilterFlowRunId | None = None


__all__ = [
    "FlowFilter",
    "FlowFilterDeployment",
    "FlowFilterId",
    "FlowFilterName",
    "FlowFilterTags",
    "FlowRunFilter",
    "FlowRunFilterCreatedBy",
    "FlowRunFilterDeploymentId",
    "FlowRunFilterEndTime",
    "FlowRunFilterExpectedStartTime",
    "FlowRunFilterFlowVersion",
    "FlowRunFilterId",
    "FlowRunFilterIdempotencyKey",
    "FlowRunFilterName",
    "FlowRunFilterNextScheduledStartTime",
    "FlowRunFilterParentFlowRunId",
    "FlowRunFilterParentTaskRunId",
    "FlowRunFilterStartTime",
    "FlowRunFilterState",
    "FlowRunFilterStateName",
    "FlowRunFilterStateType",
    "FlowRunFilterTags",
    "FlowRunFilterWorkQueueName",
    "TaskRunFilter",
    "TaskRunFilterEndTime",
    "TaskRunFilterExpectedStartTime",
    "TaskRunFilterFlowRunId",
    "TaskRunFilterId",
    "TaskRunFilterName",
    "TaskRunFilterStartTime",
    "TaskRunFilterState",
    "TaskRunFilterStateName",
    "TaskRunFilterStateType",
    "TaskRunFilterSubFlowRuns",
    "TaskRunFilterTags",
]
