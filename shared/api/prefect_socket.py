"""The local stack's websocket side of the `prefect` protocol (FastAPI), shared by
/events/in, /events/out and /logs/out. On AWS, shared.events.apigw_socket answers the
same way through API Gateway."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from shared.config import get_settings
from shared.credentials import header_carries_key
from shared.events import local_hub, protocol, task_subscriptions
from shared.events import subscriptions as subscription_service
from shared.storage.subscriptions import Channel


async def accept_prefect_socket(websocket: WebSocket) -> bool:
    """Accept and authenticate; False when the socket was refused or closed."""
    offered = protocol.offered_subprotocols(websocket.headers.getlist("sec-websocket-protocol"))
    api_key = get_settings().api_key
    if protocol.SUBPROTOCOL not in offered:
        if api_key:
            # As the reference: without the subprotocol there is no way to authenticate.
            await websocket.close(1002)
            return False
        await websocket.accept()  # legacy clients: no handshake
        return True
    await websocket.accept(subprotocol=protocol.SUBPROTOCOL)
    try:
        first = await websocket.receive_text()
    except WebSocketDisconnect:
        return False
    header_ok = header_carries_key(websocket.headers.get("authorization"), api_key) is True
    decision = protocol.authenticate(first, api_key, header_authorized=header_ok)
    await websocket.send_json(decision.reply())
    if not decision.ok:
        await websocket.close(protocol.POLICY_VIOLATION, reason=decision.reason or "")
        return False
    return True


async def _until_disconnect(websocket: WebSocket) -> None:
    """Subscribers send nothing after the filter; reading notices the close."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _send_all(websocket: WebSocket, inbox: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        await websocket.send_json(await inbox.get())


async def serve_subscription(websocket: WebSocket, channel: Channel) -> None:
    """Filter message, backfill, then whatever the fan-out posts to this connection."""
    if not await accept_prefect_socket(websocket):
        return
    try:
        raw = await websocket.receive_text()
    except WebSocketDisconnect:
        return
    connection_id, inbox = local_hub.open_connection()
    try:
        try:
            subscription = await run_in_threadpool(subscription_service.subscribe, connection_id, channel, raw)
        except subscription_service.InvalidFilterMessage as exc:
            await websocket.close(subscription_service.PROTOCOL_ERROR, reason=str(exc)[:120])
            return
        frames = await run_in_threadpool(lambda: list(subscription_service.backfill(subscription)))
        for frame in frames:
            await websocket.send_json(frame)
        sender = asyncio.ensure_future(_send_all(websocket, inbox))
        reader = asyncio.ensure_future(_until_disconnect(websocket))
        done, pending = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            if (
                not task.cancelled()
                and task.exception() is not None
                and not isinstance(task.exception(), (WebSocketDisconnect, RuntimeError))
            ):
                raise task.exception()  # type: ignore[misc]  # exception() is not None here: checked above
    except (WebSocketDisconnect, RuntimeError):
        pass  # a client may go away at any point
    finally:
        local_hub.close_connection(connection_id)
        await run_in_threadpool(subscription_service.unsubscribe, connection_id)


async def serve_task_subscription(websocket: WebSocket) -> None:
    """A task worker: subscribe message, the backlog of its keys, then runs as they are queued."""
    if not await accept_prefect_socket(websocket):
        return
    try:
        raw = await websocket.receive_text()
    except WebSocketDisconnect:
        return
    connection_id, inbox = local_hub.open_connection()
    subscription = None
    try:
        try:
            subscription = await run_in_threadpool(task_subscriptions.subscribe, connection_id, raw)
        except task_subscriptions.InvalidSubscribeMessage as exc:
            await websocket.close(task_subscriptions.PROTOCOL_VIOLATION, reason=str(exc))
            return
        await run_in_threadpool(task_subscriptions.drain_backlog, subscription, local_hub.post)
        # Frames (task runs) come from the hub; the worker's acks are read and dropped.
        sender = asyncio.ensure_future(_send_all(websocket, inbox))
        reader = asyncio.ensure_future(_until_disconnect(websocket))
        _, pending = await asyncio.wait({sender, reader}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        local_hub.close_connection(connection_id)
        await run_in_threadpool(task_subscriptions.unsubscribe, subscription, connection_id)
