"""/events/in, /events/out and /logs/out over one API Gateway WebSocket API: the Lambda
side of the `prefect` protocol.

API Gateway owns the socket (it answers protocol pings itself); the Lambda sees three
routes. $connect accepts and echoes the `prefect` subprotocol, $default carries the auth
message first, $disconnect forgets the connection (and its subscription). An /events/in
connection already authenticated at $connect (no API key configured, or the upgrade carried it: a
bearer header, or the basic one the prefect client sends with PREFECT_API_AUTH_STRING) costs no
write at all: the absence of its connection item is what says so (see
shared.storage.events_connections). Which path the client opened arrives as the `serverflow-channel` query parameter (CloudFront's path
rewrite adds it; API Gateway answers only on /{stage}). On /events/in every later frame is
one Event JSON; on the /out paths the next frame is the filter message, answered with the
backfill, after which the stream-fed fan-out posts live frames.
Replies go back through the management API's post_to_connection.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from shared.config import get_settings
from shared.credentials import header_carries_key
from shared.events import protocol, subscriptions, task_subscriptions
from shared.events.connections_out import management_api
from shared.events.ingest import ingest_frame
from shared.storage import events_connections as connections
from shared.storage import subscriptions as subscription_store
from shared.storage.subscriptions import Channel

logger = logging.getLogger("serverflow.events_socket")

Poster = Callable[[str, dict[str, Any]], None]
Closer = Callable[[str], None]

# Connections this container has seen authenticated, with their channel: their later frames skip the read
# of the connection item (one per frame otherwise). Authentication is never revoked on a live connection,
# and API Gateway delivers nothing for a connection after its $disconnect, so an entry cannot go stale
# in a way that matters; bounded, oldest forgotten first (a forgotten one is read again).
_authenticated: OrderedDict[str, str] = OrderedDict()
AUTHENTICATED_CACHE_SIZE = 10_000

CHANNEL_PARAMETER = "serverflow-channel"
# connection channel -> subscription channel
OUT_CHANNELS: dict[str, Channel] = {"events-out": "events", "logs-out": "logs"}
TASK_RUNS_CHANNEL = "task-runs"  # /task_runs/subscriptions/scheduled


def _channel(event: dict[str, Any]) -> str:
    requested = (event.get("queryStringParameters") or {}).get(CHANNEL_PARAMETER)
    return requested if requested in OUT_CHANNELS or requested == TASK_RUNS_CHANNEL else connections.DEFAULT_CHANNEL


def management_endpoint(event: dict[str, Any]) -> str:
    """https://{domainName}/{stage}; overridable when a custom domain fronts the API."""
    override = os.environ.get("SERVERFLOW_EVENTS_SOCKET_MANAGEMENT_URL")
    if override:
        return override
    ctx = event["requestContext"]
    return f"https://{ctx['domainName']}/{ctx['stage']}"


def _headers(event: dict[str, Any]) -> dict[str, str]:
    merged: dict[str, str] = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    for name, values in (event.get("multiValueHeaders") or {}).items():
        merged[name.lower()] = ", ".join(values)
    return merged


def _body(event: dict[str, Any]) -> str | None:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    return body


def on_connect(event: dict[str, Any]) -> dict[str, Any]:
    headers = _headers(event)
    offered = protocol.offered_subprotocols([headers.get("sec-websocket-protocol", "")])
    api_key = get_settings().api_key
    connection_id = event["requestContext"]["connectionId"]
    channel = _channel(event)
    carried = header_carries_key(headers.get("authorization"), api_key)
    if carried is False:
        return {"statusCode": 401}  # bearer or basic credentials that are not the key, as the HTTP API answers
    legacy = protocol.SUBPROTOCOL not in offered  # legacy clients skip the handshake
    if legacy and api_key:
        return {"statusCode": 400}  # as the reference: no subprotocol, no way to authenticate
    # The prefect client sends its PREFECT_API_AUTH_STRING as a basic header on the upgrade too.
    authenticated = legacy or carried is True
    if channel != connections.DEFAULT_CHANNEL or (api_key and not authenticated):
        connections.open_connection(connection_id, channel, authenticated=authenticated)
    # Else no item: a frame that finds none takes the connection for an authenticated /events/in one. With no
    # key that also lets a client skip the auth message the reference wants first (it is still answered).
    if legacy:
        return {"statusCode": 200}
    return {"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": protocol.SUBPROTOCOL}}


def _remember(connection_id: str, channel: str) -> None:
    _authenticated[connection_id] = channel
    while len(_authenticated) > AUTHENTICATED_CACHE_SIZE:
        _authenticated.popitem(last=False)


def _connection_state(connection_id: str) -> tuple[bool | None, str]:
    """(authenticated, channel): from this container's memory, else the connection item (None: no item)."""
    channel = _authenticated.get(connection_id)
    if channel is not None:
        return True, channel
    known = connections.read_state(connection_id)  # consistent: a just-written unauthenticated item must show
    if known is None:
        return None, connections.DEFAULT_CHANNEL
    if known[0]:
        _remember(connection_id, known[1])
    return known


def on_message(event: dict[str, Any], post: Poster, close: Closer) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    body = _body(event)
    api_key = get_settings().api_key
    state, channel = _connection_state(connection_id)
    if state is None:
        # No item: $connect authenticated this /events/in connection (only such a connection has none while
        # it can still send). Its auth message, which the client waits on, is answered without a write.
        _remember(connection_id, channel)
        if _is_auth_message(body):
            post(connection_id, protocol.AUTH_SUCCESS)
            return {"statusCode": 200}
        state = True
    if state is True:
        if channel in OUT_CHANNELS:
            _subscribe(connection_id, OUT_CHANNELS[channel], body, post, close)
        elif channel == TASK_RUNS_CHANNEL:
            _subscribe_task_worker(connection_id, body, post, close)
        elif body is not None:
            ingest_frame(body)
        return {"statusCode": 200}
    # Not authenticated yet: this frame must be the auth message.
    decision = protocol.authenticate(body, api_key)
    post(connection_id, decision.reply())
    if decision.ok:
        connections.mark_authenticated(connection_id)
        _remember(connection_id, channel)
    else:
        close(connection_id)
    return {"statusCode": 200}


def _subscribe(connection_id: str, channel: Channel, body: str | None, post: Poster, close: Closer) -> None:
    """The filter message of an /out connection: store the subscription, post the backfill."""
    try:
        subscription = subscriptions.subscribe(connection_id, channel, body)
    except subscriptions.InvalidFilterMessage as exc:
        logger.info("Closing %s: %s", connection_id, exc)
        close(connection_id)
        return
    for frame in subscriptions.backfill(subscription):
        post(connection_id, frame)


def _subscribe_task_worker(connection_id: str, body: str | None, post: Poster, close: Closer) -> None:
    """First frame after auth: the subscribe message (then the backlog); later frames are acks."""
    if subscription_store.read(connection_id) is not None:
        return  # an ack (deliveries are claimed before they are posted)
    try:
        subscription = task_subscriptions.subscribe(connection_id, body)
    except task_subscriptions.InvalidSubscribeMessage as exc:
        logger.info("Closing %s: %s", connection_id, exc)
        close(connection_id)
        return
    task_subscriptions.drain_backlog(subscription, post)


def _is_auth_message(body: str | None) -> bool:
    try:
        message = json.loads(body) if body else None
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "auth"


def on_disconnect(event: dict[str, Any]) -> dict[str, Any]:
    connection_id = event["requestContext"]["connectionId"]
    channel = _authenticated.pop(connection_id, None)
    if channel == connections.DEFAULT_CHANNEL:
        # /events/in never subscribes; remembered here, it most likely has no item (one it has expires by TTL).
        return {"statusCode": 200}
    if channel is None:
        # Eventually consistent (half a strong read; a DeleteItem bills a write even when there is no item): an
        # item it misses is left to its TTL, a subscription it misses to its own TTL and the fan-out's Gone.
        known = connections.read_state(connection_id, consistent=False)
        if known is None:
            return {"statusCode": 200}  # an /events/in connection authenticated at $connect: nothing stored
        authenticated, channel = known
        if not authenticated:
            # Left to its TTL (it never subscribed): deleted now, a frame still in flight would find no item
            # and pass for an authenticated /events/in connection.
            return {"statusCode": 200}
    connections.close_connection(connection_id)
    if channel == connections.DEFAULT_CHANNEL:
        return {"statusCode": 200}
    subscription = subscription_store.read(connection_id)
    if subscription is not None and subscription.channel == task_subscriptions.CHANNEL:
        task_subscriptions.unsubscribe(subscription, connection_id)
    else:
        subscriptions.unsubscribe(connection_id)
    return {"statusCode": 200}


def handle(event: dict[str, Any], client_factory: Callable[[str], Any] = management_api) -> dict[str, Any]:
    """Dispatch one API Gateway WebSocket event."""
    route = event["requestContext"].get("routeKey") or event["requestContext"].get("eventType")
    if route in ("$connect", "CONNECT"):
        return on_connect(event)
    if route in ("$disconnect", "DISCONNECT"):
        return on_disconnect(event)
    client: Any = None

    def api() -> Any:
        nonlocal client
        if client is None:
            client = client_factory(management_endpoint(event))
        return client

    def post(connection_id: str, message: dict[str, Any]) -> None:
        api().post_to_connection(ConnectionId=connection_id, Data=json.dumps(message).encode())

    def close(connection_id: str) -> None:
        try:
            api().delete_connection(ConnectionId=connection_id)
        finally:
            # The connection item stays until $disconnect (an unauthenticated one until its TTL): until then
            # a frame still in flight must find it.
            _authenticated.pop(connection_id, None)
            subscriptions.unsubscribe(connection_id)

    return on_message(event, post, close)
