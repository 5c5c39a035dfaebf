"""API Gateway WebSocket connections of /events/in, /events/out and /logs/out (the Lambda
transport is stateless).

Access pattern: one item per open connection, PK=EVENTS_SOCKET#<connectionId>, SK=#META,
attribute `version` = 1 once the auth handshake succeeded, `body` = the channel the
connection was opened on ("events-in", "events-out", "logs-out"; absent means
"events-in"). Written on $connect (already authenticated when the upgrade carried the key:
one put), read on a $default message until the connection is known authenticated (the
socket Lambda remembers that per container), deleted on $disconnect, which learns the
channel from the delete itself (ALL_OLD); expires_at (TTL) = connect + 3 h, past API
Gateway's 2 h connection limit, so a missed $disconnect leaves nothing behind.
"""

from __future__ import annotations

import time

from pynamodb.attributes import NumberAttribute

from shared.storage import store
from shared.storage.keys import key
from shared.storage.table import TableItem

ENTITY = "events_socket_connection"
TTL_SECONDS = 3 * 3600


def _key(connection_id: str) -> str:
    return key("EVENTS_SOCKET", connection_id)


DEFAULT_CHANNEL = "events-in"


def open_connection(connection_id: str, channel: str = DEFAULT_CHANNEL, *, authenticated: bool = False) -> None:
    store.put(
        TableItem(
            _key(connection_id),
            store.META,
            entity=ENTITY,
            version=1 if authenticated else 0,
            body=channel,
            expires_at=int(time.time()) + TTL_SECONDS,
        )
    )


def read_state(connection_id: str) -> tuple[bool, str] | None:
    """(authenticated, channel) of a known connection, None if unknown."""
    item = store.get(_key(connection_id))
    if item is None:
        return None
    return bool(item.version), item.body or DEFAULT_CHANNEL


def is_authenticated(connection_id: str) -> bool | None:
    """True/False for a known connection, None if unknown (e.g. $connect was missed)."""
    item = store.get(_key(connection_id))
    if item is None:
        return None
    return bool(item.version)


def mark_authenticated(connection_id: str) -> None:
    attr: NumberAttribute = TableItem.version
    store.update(TableItem(_key(connection_id), store.META), actions=[attr.set(1)])


def close_connection(connection_id: str) -> str | None:
    """Forget a connection; returns the channel it was opened on (None if it was unknown)."""
    item = store.take_key(_key(connection_id))
    if item is None:
        return None
    return item.body or DEFAULT_CHANNEL
