"""Websocket subscriptions: the live event / log stream (/events/out, /logs/out) and task
workers' background task runs (/task_runs/subscriptions/scheduled; filter = keys + client id).

Access patterns (keys):
- one subscription per connection ... PK=SUBSCRIPTION#<connectionId>, SK=#META
                                      (written when the filter message arrives, deleted on
                                      disconnect or when a post finds the connection gone)
- every subscription of a channel ... GSI1PK=SUBSCRIPTIONS#<channel>, GSI1SK=<connectionId>
                                      (the fan-out reads it once per stream batch; one small
                                      partition: there are few subscribers, each one item)
- retention ......................... expires_at = subscribed + 3 h, past API Gateway's 2 h
                                      connection limit, so a missed $disconnect leaves nothing
The body is the Subscription JSON (channel, filter JSON, subscribed_at).
"""

from __future__ import annotations

import datetime
from typing import Any, Literal

from pydantic import BaseModel

from shared.storage import store
from shared.storage.keys import decode, key
from shared.storage.table import TableItem

ENTITY = "subscription"
TTL = datetime.timedelta(hours=3)

Channel = Literal["events", "logs", "task_runs"]


class Subscription(BaseModel):
    """What a connection asked for; `subscribed_at` splits backfill from live delivery."""

    connection_id: str
    channel: Channel
    filter: dict[str, Any]
    subscribed_at: datetime.datetime
    backfill: bool = True


def _key(connection_id: str) -> str:
    return key("SUBSCRIPTION", connection_id)


def save(subscription: Subscription) -> None:
    expires = subscription.subscribed_at + TTL
    store.put(
        TableItem(
            _key(subscription.connection_id),
            store.META,
            entity=ENTITY,
            body=subscription.model_dump_json(),
            expires_at=int(expires.timestamp()),
            GSI1PK=key("SUBSCRIPTIONS", subscription.channel),
            GSI1SK=subscription.connection_id,
        )
    )


def read(connection_id: str) -> Subscription | None:
    item = store.get(_key(connection_id))
    return decode(item, Subscription) if item else None


def of_channel(channel: Channel) -> list[Subscription]:
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    return [
        decode(item, Subscription)
        for item in store.query(key("SUBSCRIPTIONS", channel), index="GSI1")
        if item.expires_at is None or item.expires_at > now  # TTL deletes lazily
    ]


def delete(connection_id: str) -> None:
    store.delete_key(_key(connection_id))
