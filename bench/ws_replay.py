"""Price the websocket the way AWS runs it: one Lambda invocation per frame.

The local stack reads the prefect client's `/api/events/in` socket in one process and ingests frames in
batches; behind API Gateway's WebSocket API every frame is its own invocation of the events_socket
function, with nothing shared between frames but the table. So the bench replays the frames a real client
flow sent through that very handler (`shared.events.apigw_socket.handle`), one invocation each, framed by
`$connect`, the `auth` message and `$disconnect`, inside the server process, with the DynamoDB meter
attributing the work to route "WS aws:/api/events/in". The frames get fresh task-run, event and state ids
(the flow run and the other related resources keep theirs), so they are new task runs, not replays of
recorded ones.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from bench.ddb_meter import METER, ROUTE

AWS_WS_ROUTE = "WS aws:/api/events/in"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class _Management:
    """Stands in for the API Gateway management API: replies are counted, not sent."""

    def __init__(self) -> None:
        self.posted = 0

    def post_to_connection(self, **_: Any) -> None:
        self.posted += 1

    def delete_connection(self, **_: Any) -> None:
        pass


def fresh_ids(frames: list[str]) -> list[str]:
    """New ids for everything but the related resources (flow run, flow, deployment, ...)."""
    keep: set[str] = set()
    for frame in frames:
        for related in json.loads(frame).get("related", []):
            keep.update(UUID_RE.findall(related.get("prefect.resource.id", "")))
    mapping: dict[str, str] = {}

    def swap(match: re.Match[str]) -> str:
        old = match.group(0)
        if old in keep:
            return old
        return mapping.setdefault(old, str(uuid.uuid4()))

    return [UUID_RE.sub(swap, frame) for frame in frames]


def _event(route_key: str, connection_id: str, body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key,
            "connectionId": connection_id,
            "domainName": "bench.invalid",
            "stage": "prod",
            "eventType": route_key.strip("$").upper(),
        },
        "headers": {"Sec-WebSocket-Protocol": "prefect"},
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    return event


def replay(frames: list[str]) -> dict[str, Any]:
    """One connection's frames through the Lambda handler, one invocation each; returns its counts."""
    from shared.events.apigw_socket import handle

    management = _Management()
    connection_id = uuid.uuid4().hex[:16]
    invocations = [
        _event("$connect", connection_id),
        _event("$default", connection_id, json.dumps({"type": "auth", "token": None})),
    ]
    invocations += [_event("$default", connection_id, frame) for frame in fresh_ids(frames)]
    invocations.append(_event("$disconnect", connection_id))
    token = ROUTE.set(AWS_WS_ROUTE)
    started = time.perf_counter()
    # This thread's CPU time: what the handler itself computes, apart from waiting on the emulator and from the
    # CPU the stack's other threads (the stream-fed functions these very frames feed) take meanwhile. The wall
    # time priced is mostly those two: on the shared 2-core box it went from 11 to 25 ms per frame with the
    # neighbours' load, this from 1.6 to 2.0 ms; two runs back to back compare code changes on it.
    cpu_started = time.thread_time()
    errors = 0
    try:
        for event in invocations:
            t0 = time.perf_counter()
            try:
                handle(event, client_factory=lambda _url: management)
            except Exception:  # noqa: BLE001 - counted; the bench goes on
                errors += 1
            METER.record_request(AWS_WS_ROUTE, time.perf_counter() - t0)
            METER.record_ws_message(AWS_WS_ROUTE)
    finally:
        ROUTE.reset(token)
    return {
        "invocations": len(invocations),
        "frames": len(frames),
        "replies": management.posted,
        "errors": errors,
        "seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(time.thread_time() - cpu_started, 3),
    }
