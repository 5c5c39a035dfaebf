"""Filters over deployments, their schedules, work pools, work queues and workers."""

from __future__ import annotations

from typing import Any, ClassVar, Literal
from uuid import UUID

from shared.schemas.filters.base import (
    DateTime,
    FilterBaseModel,
    FilterContext,
    Hints,
    LeafCounting,
    OperatorFilterBaseModel,
    has_all,
    has_any,
    ilike_contains,
    ilike_startswith,
    is_empty,
    is_in,
    need_resolver,
    not_in,
    on_or_after,
    on_or_before,
)

# Kept local (not imported from work_pools.py) so filters have no upward dependency.
WorkerStatusValue = Literal["ONLINE", "OFFLINE"]


def _get(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, None)


def _any_check(obj: Any, attr: str, any_: list[Any] | None) -> list[bool]:
    return [] if any_ is None else [is_in(_get(obj, attr), any_)]


def _any_hint(attr: str, any_: list[Any] | None) -> list[Hints]:
    return [] if any_ is None else [{attr: list(any_)}]


# --- deployments ---------------------------------------------------------------


class DeploymentFilterId(FilterBaseModel):
    any_: list[UUID] | None = None
    not_any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = _any_check(obj, "id", self.any_)
        if self.not_any_:
            checks.append(not_in(_get(obj, "id"), self.not_any_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return _any_hint("id", self.any_)


class DeploymentFilterName(FilterBaseModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = _any_check(obj, "name", self.any_)
        if self.like_:
            checks.append(ilike_contains(_get(obj, "name"), self.like_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return _any_hint("name", self.any_)


class DeploymentOrFlowNameFilter(FilterBaseModel):
    """like_ matches the deployment's name OR its flow's name (needs FilterContext.flow_name)."""

    like_: str | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if not self.like_:
            return []
        if ilike_contains(_get(obj, "name"), self.like_):
            return [True]
        flow_name = need_resolver(ctx, "flow_name")(_get(obj, "flow_id"))
        return [ilike_contains(flow_name, self.like_)]


class DeploymentFilterPaused(FilterBaseModel):
    eq_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.eq_ is None else [bool(_get(obj, "paused")) == self.eq_]


class DeploymentFilterWorkQueueName(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "work_queue_name", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("work_queue_name", self.any_)


class DeploymentFilterConcurrencyLimit(FilterBaseModel):
    """Accepted for compatibility; the reference ignores it (matches everything)."""

    ge_: int | None = None
    le_: int | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return []


class DeploymentFilterTags(LeafCounting, OperatorFilterBaseModel):
    _criteria_fields: ClassVar[tuple[str, ...]] = ("all_", "any_", "is_null_")
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        tags = _get(obj, "tags")
        checks = []
        if self.all_:
            checks.append(has_all(tags, self.all_))
        if self.any_ is not None:
            checks.append(has_any(tags, self.any_))
        if self.is_null_ is not None:
            checks.append(is_empty(tags) == self.is_null_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return []


class DeploymentFilter(OperatorFilterBaseModel):
    id: DeploymentFilterId | None = None
    name: DeploymentFilterName | None = None
    flow_or_deployment_name: DeploymentOrFlowNameFilter | None = None
    paused: DeploymentFilterPaused | None = None
    tags: DeploymentFilterTags | None = None
    work_queue_name: DeploymentFilterWorkQueueName | None = None
    concurrency_limit: DeploymentFilterConcurrencyLimit | None = None


class DeploymentScheduleFilterActive(FilterBaseModel):
    eq_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.eq_ is None else [bool(_get(obj, "active")) == self.eq_]


class DeploymentScheduleFilter(OperatorFilterBaseModel):
    active: DeploymentScheduleFilterActive | None = None


# --- work pools / queues / workers ----------------------------------------------


class WorkPoolFilterId(FilterBaseModel):
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "id", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("id", self.any_)


class WorkPoolFilterName(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "name", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("name", self.any_)


class WorkPoolFilterType(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "type", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("type", self.any_)


class WorkPoolFilter(OperatorFilterBaseModel):
    id: WorkPoolFilterId | None = None
    name: WorkPoolFilterName | None = None
    type: WorkPoolFilterType | None = None


class WorkQueueFilterId(FilterBaseModel):
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "id", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("id", self.any_)


class WorkQueueFilterName(FilterBaseModel):
    """name in any_; startswith_ = name ILIKE 'prefix%' for any prefix."""

    any_: list[str] | None = None
    startswith_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = _any_check(obj, "name", self.any_)
        if self.startswith_ is not None:
            name = _get(obj, "name")
            checks.append(any(ilike_startswith(name, p) for p in self.startswith_))
        return checks

    def _own_hints(self) -> list[Hints]:
        return _any_hint("name", self.any_)


class WorkQueueFilter(OperatorFilterBaseModel):
    id: WorkQueueFilterId | None = None
    name: WorkQueueFilterName | None = None


class WorkerFilterWorkPoolId(FilterBaseModel):
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return _any_check(obj, "work_pool_id", self.any_)

    def _own_hints(self) -> list[Hints]:
        return _any_hint("work_pool_id", self.any_)


class WorkerFilterStatus(FilterBaseModel):
    any_: list[WorkerStatusValue] | None = None
    not_any_: list[WorkerStatusValue] | None = None

    def _status(self, obj: Any) -> Any:
        status = _get(obj, "status")
        return getattr(status, "value", status)

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        if self.any_ is not None:
            checks.append(is_in(self._status(obj), self.any_))
        if self.not_any_:
            checks.append(not_in(self._status(obj), self.not_any_))
        return checks


class WorkerFilterLastHeartbeatTime(FilterBaseModel):
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        value = _get(obj, "last_heartbeat_time")
        checks = []
        if self.before_ is not None:
            checks.append(on_or_before(value, self.before_))
        if self.after_ is not None:
            checks.append(on_or_after(value, self.after_))
        return checks


class WorkerFilter(OperatorFilterBaseModel):
    # The reference's WorkerFilter has no work_pool_id field (the pool is in the URL).
    last_heartbeat_time: WorkerFilterLastHeartbeatTime | None = None
    status: WorkerFilterStatus | None = None


__all__ = [
    "DeploymentFilter",
    "DeploymentFilterConcurrencyLimit",
    "DeploymentFilterId",
    "DeploymentFilterName",
    "DeploymentFilterPaused",
    "DeploymentFilterTags",
    "DeploymentFilterWorkQueueName",
    "DeploymentOrFlowNameFilter",
    "DeploymentScheduleFilter",
    "DeploymentScheduleFilterActive",
    "WorkPoolFilter",
    "WorkPoolFilterId",
    "WorkPoolFilterName",
    "WorkPoolFilterType",
    "WorkQueueFilter",
    "WorkQueueFilterId",
    "WorkQueueFilterName",
    "WorkerFilter",
    "WorkerFilterLastHeartbeatTime",
    "WorkerFilterStatus",
    "WorkerFilterWorkPoolId",
    "WorkerStatusValue",
]
