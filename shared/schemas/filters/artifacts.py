"""Artifact and artifact-collection (latest per key) filters."""

from __future__ import annotations

import abc
from typing import Any
from uuid import UUID

from shared.schemas.filters.base import (
    FilterBaseModel,
    FilterContext,
    Hints,
    OperatorFilterBaseModel,
    ilike_contains,
    is_in,
    not_in,
)


def _get(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, None)


class _AnyOf(FilterBaseModel):
    """attr in any_ (subclasses set the attribute via _attr)."""

    any_: list[UUID] | None = None

    @abc.abstractmethod
    def _attr(self) -> str:
        """The object attribute this filter constrains."""

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, self._attr()), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [] if self.any_ is None else [{self._attr(): list(self.any_)}]


class _Key(FilterBaseModel):
    any_: list[str] | None = None
    like_: str | None = None
    exists_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        key = _get(obj, "key")
        checks = []
        if self.any_ is not None:
            checks.append(is_in(key, self.any_))
        if self.like_:
            checks.append(ilike_contains(key, self.like_))
        if self.exists_ is not None:
            checks.append((key is not None) == self.exists_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return [] if self.any_ is None else [{"key": list(self.any_)}]


class _Type(FilterBaseModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        value = _get(obj, "type")
        checks = []
        if self.any_ is not None:
            checks.append(is_in(value, self.any_))
        if self.not_any_:
            checks.append(not_in(value, self.not_any_))
        return checks


class ArtifactFilterId(_AnyOf):
    def _attr(self) -> str:
        return "id"


class ArtifactFilterKey(_Key):
    """key in any_, ILIKE %like_%, or key IS [NOT] NULL (exists_)."""


class ArtifactFilterFlowRunId(_AnyOf):
    def _attr(self) -> str:
        return "flow_run_id"


class ArtifactFilterTaskRunId(_AnyOf):
    def _attr(self) -> str:
        return "task_run_id"


class ArtifactFilterType(_Type):
    """type in any_ / not in not_any_."""


class ArtifactFilter(OperatorFilterBaseModel):
    id: ArtifactFilterId | None = None
    key: ArtifactFilterKey | None = None
    flow_run_id: ArtifactFilterFlowRunId | None = None
    task_run_id: ArtifactFilterTaskRunId | None = None
    type: ArtifactFilterType | None = None


class ArtifactCollectionFilterLatestId(_AnyOf):
    def _attr(self) -> str:
        return "latest_id"


class ArtifactCollectionFilterKey(_Key):
    """Same semantics as ArtifactFilterKey, on the collection's key."""


class ArtifactCollectionFilterFlowRunId(_AnyOf):
    def _attr(self) -> str:
        return "flow_run_id"


class ArtifactCollectionFilterTaskRunId(_AnyOf):
    def _attr(self) -> str:
        return "task_run_id"


class ArtifactCollectionFilterType(_Type):
    """type in any_ / not in not_any_."""


class ArtifactCollectionFilter(OperatorFilterBaseModel):
    latest_id: ArtifactCollectionFilterLatestId | None = None
    key: ArtifactCollectionFilterKey | None = None
    flow_run_id: ArtifactCollectionFilterFlowRunId | None = None
    task_run_id: ArtifactCollectionFilterTaskRunId | None = None
    type: ArtifactCollectionFilterType | None = None


__all__ = [
    "ArtifactCollectionFilter",
    "ArtifactCollectionFilterFlowRunId",
    "ArtifactCollectionFilterKey",
    "ArtifactCollectionFilterLatestId",
    "ArtifactCollectionFilterTaskRunId",
    "ArtifactCollectionFilterType",
    "ArtifactFilter",
    "ArtifactFilterFlowRunId",
    "ArtifactFilterId",
    "ArtifactFilterKey",
    "ArtifactFilterTaskRunId",
    "ArtifactFilterType",
]
