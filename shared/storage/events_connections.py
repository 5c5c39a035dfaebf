"""API Gateway WebSocket connections of /events/in, /events/out, /logs/out and the task-run
subscriptions (the Lambda transport is stateless).

Access pattern: at most one item per open connection, PK=EVENTS_SOCKET#<connectionId>, SK=#META,
attribute `version` = 1 once the auth handshake succeeded, `body` = the channel the connection was
opened on ("events-in", "events-out", "logs-out", "task-runs"; absent means "events-in").
- No item means an /events/in connection authenticated at $connect (no API key configured, or the
  upgrade carried it): the common case writes nothing. On API Gateway every connection had its
  $connect, and an item outlives the connection, so "no item" cannot describe any other connection.
- Written on $connect for every other connection (an /events/in one that must still send the key
  in its auth message, and every /out and task-runs one: only $connect sees the channel), read
  (consistently: access depends on it) on a $default message until the socket Lambda's container
  knows the connection authenticated, marked authenticated by the auth message.
- $disconnect reads it eventually consistently (to learn the channel; a missed item is an
  /events/in one or expires below) and deletes an authenticated one. An unauthenticated one is left
  to its TTL: deleted early, a frame still in flight would find no item and pass as authenticated.
- expires_at (TTL) = connect + 3 h, past API Gateway's 2 h connection limit: a missed or skipped
  delete leaves nothing behind, and no item vanishes while its connection can still send.
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


def read_state(connection_id: str, *, consistent: bool = True) -> tuple[bool, str] | None:
    """(authenticated, channel) of a connection with an item, None if it has none."""
    item = store.get(_key(connection_id), consistent=consistent)
    if item is None:
        return None
    return bool(item.version), item.body or DEFAULT_CHANNEL


def mark_authenticated(connection_id: str) -> None:
    attr: NumberAttribute = TableItem.version
    store.update(TableItem(_key(connection_id), store.META), actions=[attr.set(1)])


def close_connection(connection_id: str) -> None:
    """Forget an authenticated connection's item (an absent one is no error)."""
    store.delete_key(_key(connection_id))
