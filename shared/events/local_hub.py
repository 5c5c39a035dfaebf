"""The local stack's stand-in for API Gateway's `@connections` API.

On AWS a subscriber's socket is held by API Gateway and the fan-out posts to it by
connection id. Locally the FastAPI websocket route holds the socket: it registers a queue
under its connection id here, and the fan-out (run by the local stream poller in the same
process) posts to that queue. A post to an unknown id raises ConnectionGone, exactly where
API Gateway would answer GoneException.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from shared.events.subscriptions import ConnectionGone

_lock = threading.Lock()
_queues: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = {}


def open_connection() -> tuple[str, asyncio.Queue[dict[str, Any]]]:
    """Register the calling websocket (call from its event loop); returns its id and inbox."""
    connection_id = f"local-{uuid.uuid4().hex}"
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    with _lock:
        _queues[connection_id] = (asyncio.get_running_loop(), inbox)
    return connection_id, inbox


def close_connection(connection_id: str) -> None:
    with _lock:
        _queues.pop(connection_id, None)


def post(connection_id: str, message: dict[str, Any]) -> None:
    """Thread-safe: hand a frame to the connection's loop."""
    with _lock:
        found = _queues.get(connection_id)
    if found is None:
        raise ConnectionGone(connection_id)
    loop, inbox = found
    try:
        loop.call_soon_threadsafe(inbox.put_nowait, message)
    except RuntimeError:  # the loop closed under us: the socket is gone
        close_connection(connection_id)
        raise ConnectionGone(connection_id) from None
