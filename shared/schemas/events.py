"""Events: Resource/RelatedResource label sets, Event/ReceivedEvent, EventFilter, pages and counts.

Events arrive from the client's /events/in websocket (one Event JSON per frame) and
from POST /events; they are stored as ReceivedEvent. Filters evaluate in Python
(`matches`) with the reference's semantics; resource label values use glob patterns
(`*`, `?`) and a leading `!` negates.
"""

from __future__ import annotations

import abc
import datetime
import enum
import fnmatch
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, ClassVar, Self
from uuid import UUID

from pydantic import AfterValidator, ConfigDict, Field, RootModel, field_validator, model_validator

from shared.schemas.base import APIBaseModel
from shared.schemas.filters.logs import parse_text_query
from shared.schemas.types import DateTime, now_utc

# Reference settings (server.events.*) and their defaults.
MAXIMUM_LABELS_PER_RESOURCE = int(os.environ.get("SERVERFLOW_EVENTS_MAX_LABELS_PER_RESOURCE", "500"))
MAXIMUM_RELATED_RESOURCES = int(os.environ.get("SERVERFLOW_EVENTS_MAX_RELATED_RESOURCES", "100"))
MAXIMUM_EVENT_NAME_LENGTH = int(os.environ.get("SERVERFLOW_EVENTS_MAX_EVENT_NAME_LENGTH", "1024"))
INTERACTIVE_PAGE_SIZE = 50  # default and maximum `limit` of POST /events/filter


# --- resources -------------------------------------------------------------------


class Resource(RootModel[dict[str, str]]):
    """A flat label map; "prefect.resource.id" is required and non-empty."""

    @model_validator(mode="after")
    def _validate(self) -> Self:
        if len(self.root) > MAXIMUM_LABELS_PER_RESOURCE:
            raise ValueError(f"The maximum number of labels per resource is {MAXIMUM_LABELS_PER_RESOURCE}")
        if "prefect.resource.id" not in self.root:
            raise ValueError("Resources must include the prefect.resource.id label")
        if not self.root["prefect.resource.id"]:
            raise ValueError("The prefect.resource.id label must be non-empty")
        return self

    def __getitem__(self, label: str) -> str:
        return self.root[label]

    def __contains__(self, label: object) -> bool:
        return label in self.root

    def get(self, label: str, default: str | None = None) -> str | None:
        return self.root.get(label, default)

    def items(self) -> Iterable[tuple[str, str]]:
        return self.root.items()

    @property
    def id(self) -> str:
        return self.root["prefect.resource.id"]

    @property
    def name(self) -> str | None:
        return self.root.get("prefect.resource.name")

    @property
    def role(self) -> str:
        # Primary resources have no role; the reference stores "" for them.
        return self.root.get("prefect.resource.role", "")

    def prefect_object_id(self, kind: str) -> UUID:
        """The UUID in an id like "prefect.flow-run.<uuid>" (ValueError if another kind)."""
        prefix = kind if kind.endswith(".") else f"{kind}."
        if not self.id.startswith(prefix):
            raise ValueError(f"Resource ID {self.id} does not start with {prefix}")
        return UUID(self.id[len(prefix) :])


class RelatedResource(Resource):
    """A resource plus its role in the event ("prefect.resource.role", required)."""

    @model_validator(mode="after")
    def _require_role(self) -> Self:
        if "prefect.resource.role" not in self.root:
            raise ValueError("Related Resources must include the prefect.resource.role label")
        if not self.root["prefect.resource.role"]:
            raise ValueError("The prefect.resource.role label must be non-empty")
        return self


def label_matches(expected: str, value: str | None) -> bool:
    """Glob match of one label value; "!pattern" negates; a missing label never matches."""
    if value is None:
        return False
    negated = expected.startswith("!")
    hit = fnmatch.fnmatchcase(value, expected.removeprefix("!"))
    return not hit if negated else hit


class ResourceSpecification(RootModel[dict[str, str | list[str]]]):
    """label -> pattern or patterns; a resource matches if every label matches one pattern."""

    def items(self) -> list[tuple[str, list[str]]]:
        return [(k, [v] if isinstance(v, str) else list(v)) for k, v in self.root.items()]

    def matches_every_resource(self) -> bool:
        return not self.root

    def matches(self, resource: Resource) -> bool:
        return all(
            any(label_matches(pattern, resource.get(label)) for pattern in patterns) for label, patterns in self.items()
        )

    def includes(self, candidates: Iterable[Resource]) -> bool:
        return self.matches_every_resource() or any(self.matches(c) for c in candidates)


# --- events ------------------------------------------------------------------------


def _check_event_name(value: str) -> str:
    if len(value) > MAXIMUM_EVENT_NAME_LENGTH:
        raise ValueError(f"Event name must be at most {MAXIMUM_EVENT_NAME_LENGTH} characters")
    return value


class Event(APIBaseModel):
    """An event as a client sends it."""

    occurred: DateTime
    event: Annotated[str, AfterValidator(_check_event_name)]
    resource: Resource
    related: list[RelatedResource] = Field(default_factory=list)
    payload: dict[str, Any] = Field(default_factory=dict)
    id: UUID
    # Causal predecessor; lets consumers reorder events that arrive out of order.
    follows: UUID | None = None

    @field_validator("related")
    @classmethod
    def _max_related(cls, value: list[RelatedResource]) -> list[RelatedResource]:
        if len(value) > MAXIMUM_RELATED_RESOURCES:
            raise ValueError(f"The maximum number of related resources is {MAXIMUM_RELATED_RESOURCES}")
        return value

    @property
    def involved_resources(self) -> Sequence[Resource]:
        return [self.resource, *self.related]

    @property
    def resource_in_role(self) -> dict[str, RelatedResource]:
        """role -> first related resource with that role."""
        found: dict[str, RelatedResource] = {}
        for related in self.related:
            found.setdefault(related.role, related)
        return found

    def find_resource_label(self, label: str) -> str | None:
        """A label of the primary resource, or "related:<role>:<label>" of a related one."""
        directive, _, related_label = label.rpartition(":")
        kind, _, role = directive.partition(":")
        if kind == "related":
            for related in self.related:
                if related.role == role:
                    return related.get(related_label)
        return self.resource.get(label)

    def receive(self, received: datetime.datetime | None = None) -> ReceivedEvent:
        data = self.model_dump()
        if received is not None:
            data["received"] = received
        return ReceivedEvent(**data)


class ReceivedEvent(Event):
    """An event as stored and returned: plus the server's receive time."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore", from_attributes=True)

    received: DateTime = Field(default_factory=now_utc)


# --- filters -----------------------------------------------------------------------


class EventOrder(str, enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


class _EventFilterBase(APIBaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    @abc.abstractmethod
    def matches(self, event: Event) -> bool:
        """Does the event pass this part of the filter?"""


def _default_since() -> datetime.datetime:
    # Start of today (UTC) minus 180 days, as the reference's default window.
    today = now_utc().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - datetime.timedelta(days=180)


class EventOccurredFilter(_EventFilterBase):
    since: DateTime = Field(default_factory=_default_since)
    until: DateTime = Field(default_factory=now_utc)

    def clamp(self, max_duration: datetime.timedelta) -> None:
        """Never look further back than `max_duration` (event retention)."""
        self.since = max(now_utc() - max_duration, self.since)

    def matches(self, event: Event) -> bool:
        return self.since <= event.occurred <= self.until


class EventNameFilter(_EventFilterBase):
    prefix: list[str] | None = None
    exclude_prefix: list[str] | None = None
    name: list[str] | None = None
    exclude_name: list[str] | None = None

    def matches(self, event: Event) -> bool:
        return self.includes(event.event)

    def includes(self, name: str) -> bool:
        """Whether an event of this name passes (the time feed picks candidates by name alone)."""
        if self.prefix and not any(name.startswith(p) for p in self.prefix):
            return False
        if self.exclude_prefix and any(name.startswith(p) for p in self.exclude_prefix):
            return False
        if self.name and name not in self.name:
            return False
        if self.exclude_name and name in self.exclude_name:
            return False
        return True


def _resource_matches(
    resource: Resource, ids: list[str] | None, prefixes: list[str] | None, labels: ResourceSpecification | None
) -> bool:
    if ids and resource.id not in ids:
        return False
    if prefixes and not any(resource.id.startswith(p) for p in prefixes):
        return False
    if labels and not labels.matches(resource):
        return False
    return True


class EventResourceFilter(_EventFilterBase):
    id: list[str] | None = None
    id_prefix: list[str] | None = None
    labels: ResourceSpecification | None = None
    # Latest event per resource only; applied by storage, not by matches().
    distinct: bool = False

    def matches(self, event: Event) -> bool:
        return _resource_matches(event.resource, self.id, self.id_prefix, self.labels)


class EventRelatedFilter(_EventFilterBase):
    """Some related resource satisfies every criterion given (as the reference's SQL)."""

    id: list[str] | None = None
    role: list[str] | None = None
    resources_in_roles: list[tuple[str, str]] | None = None
    labels: ResourceSpecification | None = None

    def _is_empty(self) -> bool:
        return not (self.id or self.role or self.resources_in_roles or self.labels)

    def _one(self, related: RelatedResource) -> bool:
        if self.id and related.id not in self.id:
            return False
        if self.role and related.role not in self.role:
            return False
        if self.resources_in_roles and not any(
            related.id == rid and related.role == role for rid, role in self.resources_in_roles
        ):
            return False
        if self.labels:
            for label, patterns in self.labels.items():
                # An empty pattern list matches nothing, as the reference's SQL.
                if not patterns:
                    return False
                if not any(
                    label_matches(p, related.get(label) if label != "prefect.resource.role" else related.role)
                    for p in patterns
                ):
                    return False
        return True

    def matches(self, event: Event) -> bool:
        if self._is_empty():
            return True
        return any(self._one(related) for related in event.related)


class EventAnyResourceFilter(_EventFilterBase):
    id: list[str] | None = None
    id_prefix: list[str] | None = None
    labels: ResourceSpecification | None = None

    def matches(self, event: Event) -> bool:
        return any(_resource_matches(r, self.id, self.id_prefix, self.labels) for r in event.involved_resources)


class EventIDFilter(_EventFilterBase):
    id: list[UUID] | None = None

    def matches(self, event: Event) -> bool:
        return not self.id or event.id in self.id


class EventTextFilter(_EventFilterBase):
    """Text search over the event name, all resource label values and str(payload)."""

    query: str = Field(max_length=200)

    def matches(self, event: Event) -> bool:
        parsed = parse_text_query(self.query)
        parts = [event.event, *event.resource.root.values()]
        for related in event.related:
            parts.extend(related.root.values())
        parts.append(str(event.payload))
        text = " ".join(parts).lower()
        if parsed.include and not any(t.lower() in text for t in parsed.include):
            return False
        if parsed.exclude and any(t.lower() in text for t in parsed.exclude):
            return False
        if parsed.required and not all(t.lower() in text for t in parsed.required):
            return False
        return True


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


class EventFilter(_EventFilterBase):
    """Body key "filter" of POST /events/filter; every criterion is AND-ed (lists too)."""

    occurred: EventOccurredFilter = Field(default_factory=EventOccurredFilter)
    event: EventNameFilter | None = None
    resource: EventResourceFilter | None = None
    related: EventRelatedFilter | list[EventRelatedFilter] | None = None
    any_resource: EventAnyResourceFilter | list[EventAnyResourceFilter] | None = None
    id: EventIDFilter = Field(default_factory=EventIDFilter)
    text: EventTextFilter | None = None
    order: EventOrder = EventOrder.DESC

    def subfilters(self) -> list[_EventFilterBase]:
        found: list[_EventFilterBase] = [self.occurred, self.id]
        for value in (self.event, self.resource, self.text):
            if value is not None:
                found.append(value)
        found.extend(_as_list(self.related))
        found.extend(_as_list(self.any_resource))
        return found

    def matches(self, event: Event) -> bool:
        return all(sub.matches(event) for sub in self.subfilters())

    def index_hints(self) -> dict[str, list[Any]]:
        """Necessary constraints storage can key on: event ids, primary resource ids, names."""
        hints: dict[str, list[Any]] = {}
        if self.id.id:
            hints["id"] = list(self.id.id)
        if self.resource is not None and self.resource.id:
            hints["resource_id"] = list(self.resource.id)
        if self.event is not None and self.event.name:
            hints["event"] = list(self.event.name)
        return hints

    def sort_key(self) -> tuple[Callable[[ReceivedEvent], tuple[datetime.datetime, str]], bool]:
        """Events are ordered by occurred (then id for stability) in `order` direction."""
        return (lambda e: (e.occurred, str(e.id))), self.order == EventOrder.DESC


class EventFilterRequest(APIBaseModel):
    """Body of POST /events/filter: {"filter": {...}|null, "limit": 0..50}."""

    filter: EventFilter | None = None
    limit: int = Field(default=INTERACTIVE_PAGE_SIZE, ge=0, le=INTERACTIVE_PAGE_SIZE)


class EventPage(APIBaseModel):
    """Response of POST /events/filter and GET /events/filter/next."""

    events: list[ReceivedEvent]
    total: int
    next_page: str | None


# --- counting ----------------------------------------------------------------------


class Countable(str, enum.Enum):
    """Path parameter of POST /events/count-by/{countable}."""

    day = "day"  # treated as `time`
    time = "time"
    event = "event"
    resource = "resource"


class TimeUnit(str, enum.Enum):
    week = "week"
    day = "day"
    hour = "hour"
    minute = "minute"
    second = "second"

    def as_timedelta(self, interval: float) -> datetime.timedelta:
        unit = {"week": 7 * 86400, "day": 86400, "hour": 3600, "minute": 60, "second": 1}[self.value]
        return datetime.timedelta(seconds=unit * interval)


class EventCountRequest(APIBaseModel):
    """Body of POST /events/count-by/{countable}."""

    filter: EventFilter
    time_unit: TimeUnit = TimeUnit.day
    time_interval: float = Field(default=1.0, ge=0.01)


class EventCount(APIBaseModel):
    value: str
    label: str
    count: int
    start_time: DateTime
    end_time: DateTime


__all__ = [
    "INTERACTIVE_PAGE_SIZE",
    "Countable",
    "Event",
    "EventAnyResourceFilter",
    "EventCount",
    "EventCountRequest",
    "EventFilter",
    "EventFilterRequest",
    "EventIDFilter",
    "EventNameFilter",
    "EventOccurredFilter",
    "EventOrder",
    "EventPage",
    "EventRelatedFilter",
    "EventResourceFilter",
    "EventTextFilter",
    "ReceivedEvent",
    "RelatedResource",
    "Resource",
    "ResourceSpecification",
    "TimeUnit",
    "label_matches",
]
