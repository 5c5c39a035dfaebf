"""/events/out and /logs/out: subscribe, backfill and fan out, independent of the transport.

The protocol (as the reference's): after the `prefect` auth handshake the client sends
{"type": "filter", "filter": {...}, "backfill": bool}; the server answers with
{"type": "event", "event": ...} frames (logs: {"type": "log", "log": ...}), first the
recent matching events (backfill, oldest first, at most 15 minutes back), then live ones.

Live delivery is driven by the table's stream: the fan-out (a stream-fed Lambda on AWS,
the local stack's stream poller locally) reads the channel's subscriptions once per batch
and posts each matching item to its connection. `subscribed_at` splits the two halves:
backfill sends events received before it, the fan-out those received from it on, so an
event is never sent twice nor skipped between them. A post to a connection that is gone
deletes its subscription.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError

from shared.schemas.events import EventFilter, EventOrder, ReceivedEvent
from shared.schemas.filters.logs import LogFilter
from shared.schemas.logs import Log
from shared.schemas.types import now_utc
from shared.storage import events as event_store
from shared.storage import subscriptions as subscription_store
from shared.storage.stream_records import NewItems
from shared.storage.subscriptions import Channel, Subscription

logger = logging.getLogger("serverflow.subscriptions")

PROTOCOL_ERROR = 1002
# The reference's PREFECT_EVENTS_MAXIMUM_WEBSOCKET_BACKFILL and ..._BACKFILL_PAGE_SIZE.
MAXIMUM_BACKFILL = datetime.timedelta(minutes=15)
BACKFILL_PAGE_SIZE = 250
FAR_FUTURE = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)


class ConnectionGone(Exception):
    """The connection a message was posted to no longer exists (API Gateway's GoneException)."""


class InvalidFilterMessage(ValueError):
    """The message after auth is not a valid filter message: close with 1002 and this reason."""


Poster = Callable[[str, dict[str, Any]], None]


def parse_filter_message(raw: str | bytes | None, channel: Channel) -> tuple[dict[str, Any], bool]:
    """The filter message -> (filter JSON as validated, wants backfill)."""
    try:
        message = json.loads(raw) if raw is not None else None
    except ValueError:
        message = None
    if not isinstance(message, dict) or message.get("type") != "filter":
        raise InvalidFilterMessage("Expected 'filter' message")
    try:
        if channel == "events":
            parsed: EventFilter | LogFilter = EventFilter.model_validate(message.get("filter") or {})
        else:
            parsed = LogFilter.model_validate(message.get("filter") or {})
    except ValidationError as exc:
        raise InvalidFilterMessage(f"Invalid filter: {exc.errors(include_url=False)[:1]}") from None
    # Only what the client set: defaults such as occurred.until (= now) are taken again when
    # the filter is used, so a subscription does not freeze "until" at subscribe time.
    return parsed.model_dump(mode="json", exclude_unset=True), bool(message.get("backfill", True))


def subscribe(connection_id: str, channel: Channel, raw_filter_message: str | bytes | None) -> Subscription:
    """Validate and store a connection's subscription (live delivery starts now)."""
    filter_json, backfill = parse_filter_message(raw_filter_message, channel)
    subscription = Subscription(
        connection_id=connection_id,
        channel=channel,
        filter=filter_json,
        subscribed_at=now_utc(),
        backfill=backfill and channel == "events",  # the reference backfills events only
    )
    subscription_store.save(subscription)
    return subscription


def unsubscribe(connection_id: str) -> None:
    subscription_store.delete(connection_id)


def _event_filter(subscription: Subscription, *, live: bool = False) -> EventFilter:
    event_filter = EventFilter.model_validate(subscription.filter)
    if live and "until" not in (subscription.filter.get("occurred") or {}):
        event_filter.occurred.until = FAR_FUTURE  # an open subscription has no end
    return event_filter


def event_message(event: ReceivedEvent) -> dict[str, Any]:
    return {"type": "event", "event": event.model_dump(mode="json")}


def log_message(log: Log) -> dict[str, Any]:
    return {"type": "log", "log": log.model_dump(mode="json")}


def backfill(subscription: Subscription) -> Iterator[dict[str, Any]]:
    """Frames of the recent matching events received before the subscription, oldest first."""
    if not subscription.backfill:
        return
    event_filter = _event_filter(subscription)
    event_filter.occurred.since = max(event_filter.occurred.since, now_utc() - MAXIMUM_BACKFILL)
    event_filter.order = EventOrder.ASC
    events, _, token = event_store.query_events(event_filter, page_size=BACKFILL_PAGE_SIZE)
    while True:
        for event in events:
            if event.received < subscription.subscribed_at:
                yield event_message(event)
        if not token:
            return
        events, _, token = event_store.query_next_page(token)


def _frames_for(subscription: Subscription, new: NewItems) -> list[dict[str, Any]]:
    if subscription.channel == "events":
        event_filter = _event_filter(subscription, live=True)
        return [
            event_message(event)
            for event in sorted(new.events, key=lambda e: (e.occurred, str(e.id)))
            if event.received >= subscription.subscribed_at and event_filter.matches(event)
        ]
    log_filter = LogFilter.model_validate(subscription.filter)
    return [log_message(log) for log in new.logs if log_filter.matches(log)]


def fan_out(new: NewItems, post: Poster) -> int:
    """Post every new event / log to the subscriptions it matches; returns frames posted.

    One Query per channel with new items; a gone connection loses its subscription and
    does not stop delivery to the others.
    """
    posted = 0
    pending: tuple[tuple[Channel, list[Any]], ...] = (("events", new.events), ("logs", new.logs))
    channels = [channel for channel, items in pending if items]
    for channel in channels:
        for subscription in subscription_store.of_channel(channel):
            try:
                for frame in _frames_for(subscription, new):
                    post(subscription.connection_id, frame)
                    posted += 1
            except ConnectionGone:
                logger.info("Connection %s is gone; dropping its subscription", subscription.connection_id)
                unsubscribe(subscription.connection_id)
    return posted
