"""Log filters, including the reference's free-text search syntax."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import Field

from shared.schemas.filters.base import (
    DateTime,
    FilterBaseModel,
    FilterContext,
    Hints,
    OperatorFilterBaseModel,
    is_in,
    on_or_after,
    on_or_before,
)


def _get(obj: Any, attr: str) -> Any:
    return getattr(obj, attr, None)


class LogFilterName(FilterBaseModel):
    any_: list[str] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "name"), self.any_)]


class LogFilterLevel(FilterBaseModel):
    ge_: int | None = None
    le_: int | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        level = _get(obj, "level")
        checks = []
        if self.ge_ is not None:
            checks.append(level is not None and level >= self.ge_)
        if self.le_ is not None:
            checks.append(level is not None and level <= self.le_)
        return checks


class LogFilterTimestamp(FilterBaseModel):
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        ts = _get(obj, "timestamp")
        checks = []
        if self.before_ is not None:
            checks.append(on_or_before(ts, self.before_))
        if self.after_ is not None:
            checks.append(on_or_after(ts, self.after_))
        return checks


class LogFilterFlowRunId(FilterBaseModel):
    any_: list[UUID] | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        return [] if self.any_ is None else [is_in(_get(obj, "flow_run_id"), self.any_)]

    def _own_hints(self) -> list[Hints]:
        return [] if self.any_ is None else [{"flow_run_id": list(self.any_)}]


class LogFilterTaskRunId(FilterBaseModel):
    any_: list[UUID] | None = None
    is_null_: bool | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        value = _get(obj, "task_run_id")
        checks = []
        if self.any_ is not None:
            checks.append(is_in(value, self.any_))
        if self.is_null_ is not None:
            checks.append((value is None) == self.is_null_)
        return checks

    def _own_hints(self) -> list[Hints]:
        return [] if self.any_ is None else [{"task_run_id": list(self.any_)}]


# --- text search -------------------------------------------------------------------


@dataclass
class TextQuery:
    """A parsed search: any include term, no exclude term, every required term."""

    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    # `start` is just past the opening quote; \" and \\ are escapes, other
    # backslashes are kept literally; an unclosed quote runs to the end.
    out: list[str] = []
    i = start
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            nxt = query[i + 1]
            if nxt in ('"', "\\"):
                out.append(nxt)
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


def parse_text_query(query: str) -> TextQuery:
    """Words are OR-ed; -word/!word excluded; +word required; "quoted phrases" kept whole."""
    parsed = TextQuery()
    i, n = 0, len(query)
    while i < n:
        if query[i].isspace():
            i += 1
            continue
        bucket = parsed.include
        if query[i] in "-!+":
            # A lone prefix (followed by space or end) is ignored.
            if i + 1 >= n or query[i + 1].isspace():
                i += 1
                continue
            bucket = parsed.required if query[i] == "+" else parsed.exclude
            i += 1
        if query[i] == '"':
            phrase, i = _read_quoted(query, i + 1)
            if phrase.strip():
                bucket.append(phrase)
            continue
        start = i
        while i < n and not query[i].isspace() and query[i] != '"':
            i += 1
        if i > start:
            bucket.append(query[start:i])
    return parsed


class LogFilterTextSearch(FilterBaseModel):
    """Case-insensitive substring search over "<message> <logger name>"."""

    query: str = Field(max_length=200)

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        if not self.query.strip():
            return []
        parsed = parse_text_query(self.query)
        text = f"{_get(obj, 'message')} {_get(obj, 'name')}".lower()
        checks = []
        if parsed.include:
            checks.append(any(term.lower() in text for term in parsed.include))
        if parsed.exclude:
            checks.append(all(term.lower() not in text for term in parsed.exclude))
        if parsed.required:
            checks.append(all(term.lower() in text for term in parsed.required))
        return checks


class LogFilter(OperatorFilterBaseModel):
    level: LogFilterLevel | None = None
    timestamp: LogFilterTimestamp | None = None
    flow_run_id: LogFilterFlowRunId | None = None
    task_run_id: LogFilterTaskRunId | None = None
    text: LogFilterTextSearch | None = None

    def _checks(self, obj: Any, ctx: FilterContext | None) -> list[bool]:
        checks = []
        for name in ("level", "timestamp", "flow_run_id", "task_run_id"):
            sub = getattr(self, name)
            if sub is not None:
                checks.append(sub.matches(obj, ctx))
        if self.text is not None:
            # The reference splices the text criteria into this filter's own list,
            # so they combine with `operator` individually.
            checks.extend(self.text._checks(obj, ctx))
        return checks


__all__ = [
    "LogFilter",
    "LogFilterFlowRunId",
    "LogFilterLevel",
    "LogFilterName",
    "LogFilterTaskRunId",
    "LogFilterTextSearch",
    "LogFilterTimestamp",
    "TextQuery",
    "parse_text_query",
]
