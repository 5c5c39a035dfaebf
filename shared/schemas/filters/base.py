"""Filter machinery: the and_/or_ operator, SQL-like predicates, evaluation and index hints.

Our storage reads the narrowest key/index and evaluates the rest of a filter in
Python, so every filter model can evaluate itself (`matches`) with the semantics of
the reference's SQL WHERE clause:

- a filter (or sub-filter) with no criteria set matches everything (SQL TRUE);
- criteria inside a plain sub-filter are AND-ed; a sub-filter with `operator`
  combines its criteria with and_/or_ (default and_);
- NULL never satisfies IN / NOT IN / <= / >= / ILIKE (three-valued logic collapses
  to "not selected" because the WHERE clause only uses AND/OR over these);
- `any_=[]` matches nothing (`IN ()`), while `not_any_=[]` and `all_=[]` are ignored.

`index_hints()` returns the equality constraints that every match must satisfy
(attribute -> allowed values), so storage can pick a partition key or GSI; `range_hints()`
the time windows every match must lie in (attribute -> inclusive (after, before) bounds), so
storage can read a time-sorted index as a key range. Both follow the same AND rule: an OR of
several criteria guarantees none of them.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.schemas.types import DateTime

Hints = dict[str, list[Any]]
# attribute -> (after, before): inclusive bounds, None = unbounded on that side.
Window = tuple[datetime.datetime | None, datetime.datetime | None]
Ranges = dict[str, Window]


class Operator(str, enum.Enum):
    """How an operator filter combines its criteria."""

    and_ = "and_"
    or_ = "or_"


class FilterNeedsContext(LookupError):
    """A criterion needs data from another entity and no resolver was given."""


@dataclass(frozen=True)
class FilterContext:
    """Resolvers for the few criteria that join to another entity.

    The reference answers these with SQL sub-queries; storage supplies lookups.
    """

    # FlowFilter.deployment.is_null_: does any deployment point at this flow?
    flow_has_deployment: Callable[[UUID], bool] | None = None
    # FlowRunFilter.parent_flow_run_id: the flow run owning a (parent) task run.
    task_run_flow_run_id: Callable[[UUID], UUID | None] | None = None
    # TaskRunFilter.subflow_runs.exists_: is this task run the parent of a subflow run?
    task_run_has_subflow: Callable[[UUID], bool] | None = None
    # DeploymentFilter.flow_or_deployment_name: the deployment's flow name.
    flow_name: Callable[[UUID], str | None] | None = None


def need_resolver(ctx: FilterContext | None, name: str) -> Callable[..., Any]:
    resolver: Callable[..., Any] | None = getattr(ctx, name, None) if ctx is not None else None
    if resolver is None:
        raise FilterNeedsContext(f"this filter needs FilterContext.{name}")
    return resolver


# --- predicates (SQL semantics) ------------------------------------------------


def is_in(value: Any, options: Iterable[Any]) -> bool:
    return value is not None and value in list(options)


def not_in(value: Any, options: Iterable[Any]) -> bool:
    return value is not None and value not in list(options)


@lru_cache(maxsize=512)
def _like_regex(pattern: str, anchored_start: bool, anchored_end: bool) -> re.Pattern[str]:
    # Translate a SQL LIKE pattern: % = any run, _ = one char, backslash escapes.
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    body = "".join(out)
    regex = ("^" if anchored_start else "") + body + ("$" if anchored_end else "")
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def ilike_contains(value: Any, pattern: str) -> bool:
    """`value ILIKE '%pattern%'` (the pattern may itself use % and _)."""
    return isinstance(value, str) and bool(_like_regex(pattern, False, False).search(value))


def ilike_startswith(value: Any, prefix: str) -> bool:
    """`value ILIKE 'prefix%'`."""
    return isinstance(value, str) and bool(_like_regex(prefix, True, False).match(value))


def _aware(value: datetime.datetime) -> datetime.datetime:
    return value if value.tzinfo else value.replace(tzinfo=datetime.UTC)


def on_or_before(value: Any, bound: datetime.datetime) -> bool:
    return value is not None and _aware(value) <= _aware(bound)


def on_or_after(value: Any, bound: datetime.datetime) -> bool:
    return value is not None and _aware(value) >= _aware(bound)


def has_all(values: Iterable[Any] | None, required: Iterable[Any]) -> bool:
    present = set(values or [])
    return all(item in present for item in required)


def has_any(values: Iterable[Any] | None, candidates: Iterable[Any]) -> bool:
    present = set(values or [])
    return any(item in present for item in candidates)


def is_empty(values: Iterable[Any] | None) -> bool:
    return not list(values or [])


def merge_hints(target: Hints, extra: Hints) -> Hints:
    """AND two sets of necessary constraints (intersect values of shared attributes)."""
    for attr, values in extra.items():
        if attr in target:
            target[attr] = [v for v in target[attr] if v in values]
        else:
            target[attr] = list(values)
    return target


def _later(a: datetime.datetime | None, b: datetime.datetime | None) -> datetime.datetime | None:
    return b if a is None else a if b is None else max(_aware(a), _aware(b))


def _earlier(a: datetime.datetime | None, b: datetime.datetime | None) -> datetime.datetime | None:
    return b if a is None else a if b is None else min(_aware(a), _aware(b))


def merge_ranges(target: Ranges, extra: Ranges) -> Ranges:
    """AND two sets of windows (intersect the windows of a shared attribute)."""
    for attr, (after, before) in extra.items():
        known_after, known_before = target.get(attr, (None, None))
        target[attr] = (_later(known_after, after), _earlier(known_before, before))
    return target


# --- models ------------------------------------------------------------------


class FilterBaseModel(BaseModel):
    """A filter: unknown keys are a 422, as in the reference.

    defer_build: each Lambda imports every filter but uses a few; building them all at import was a large
    part of a cold start (issue #13), so pydantic builds each on first use.
    """

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", ser_json_timedelta="float", defer_build=True)

    # Criteria AND-ed; operator filters override `_combine`.
    def _sub_filters(self) -> list[FilterBaseModel]:
        """The nested filters that are set (the criteria of a filter made of filters)."""
        return [value for name in type(self).model_fields if isinstance(value := getattr(self, name), FilterBaseModel)]

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        """One boolean per criterion that is set. Default: nested sub-filters."""
        return [value.matches(obj, ctx) for value in self._sub_filters()]

    def _combine(self, results: list[bool]) -> bool:
        return all(results)

    def matches(self, obj: Any, ctx: FilterContext | None = None) -> bool:
        """Would the reference's WHERE clause select `obj`?"""
        results = self._checks(obj, ctx)
        if not results:
            return True
        return self._combine(results)

    # --- index hints ---------------------------------------------------------

    def _own_hints(self) -> list[Hints]:
        """Necessary equality constraints per criterion (leaf filters override)."""
        return [value.index_hints() for value in self._sub_filters()]

    def _own_ranges(self) -> list[Ranges]:
        """Necessary time windows per criterion (time-range leaf filters override)."""
        return [value.range_hints() for value in self._sub_filters()]

    def _criteria_count(self) -> int:
        return len(self._sub_filters())

    def _is_or(self) -> bool:
        return False

    def index_hints(self) -> Hints:
        """attribute -> values: every matching object has attribute in values."""
        if self._is_or() and self._criteria_count() > 1:
            return {}  # an OR of several criteria guarantees none of them
        merged: Hints = {}
        for hints in self._own_hints():
            merge_hints(merged, hints)
        return merged

    def range_hints(self) -> Ranges:
        """attribute -> (after, before): every matching object has attribute within these inclusive bounds."""
        if self._is_or() and self._criteria_count() > 1:
            return {}  # an OR of several criteria guarantees none of them
        merged: Ranges = {}
        for ranges in self._own_ranges():
            merge_ranges(merged, ranges)
        return merged


class OperatorFilterBaseModel(FilterBaseModel):
    """A filter whose criteria are combined with a caller-chosen operator."""

    operator: Operator = Operator.and_

    def _combine(self, results: list[bool]) -> bool:
        return all(results) if self.operator == Operator.and_ else any(results)

    def _is_or(self) -> bool:
        return self.operator == Operator.or_


class LeafCounting:
    """Mixin for leaf operator filters: count set criteria for the OR-hint rule."""

    _criteria_fields: ClassVar[tuple[str, ...]] = ()

    def _criteria_count(self) -> int:
        return sum(1 for f in self._criteria_fields if getattr(self, f) is not None)


__all__ = [
    "DateTime",
    "FilterBaseModel",
    "FilterContext",
    "FilterNeedsContext",
    "Hints",
    "LeafCounting",
    "Operator",
    "OperatorFilterBaseModel",
    "Ranges",
    "Window",
    "has_all",
    "has_any",
    "ilike_contains",
    "ilike_startswith",
    "is_empty",
    "is_in",
    "merge_hints",
    "merge_ranges",
    "need_resolver",
    "not_in",
    "on_or_after",
    "on_or_before",
]
