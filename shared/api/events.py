"""/events routes (Prefect 3.9.1 `server/api/events.py` compatible).

HTTP: POST /events (batch), POST /events/filter, GET /events/filter/next,
POST /events/count-by/{countable}. Websocket: /events/in (the prefect client's event
stream; on AWS the same protocol is served by functions/events_socket behind an API
Gateway WebSocket API), and /events/out (live events to subscribers, fanned out from the
table's stream: shared.events.subscriptions).
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Body, HTTPException, Path, Query, Request, Response, WebSocket, status
from starlette.websockets import WebSocketDisconnect

from shared.api.prefect_socket import accept_prefect_socket, serve_subscription
from shared.api.routing import ServerflowRouter
from shared.events.frame_batches import ingest_frames
from shared.events.ingest import ingest
from shared.schemas.events import (
    INTERACTIVE_PAGE_SIZE,
    Countable,
    Event,
    EventCount,
    EventFilter,
    EventPage,
    TimeUnit,
)
from shared.storage import events as event_store

router = ServerflowRouter(prefix="/events", tags=["Events"])


@router.post("", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def create_events(events: list[Event]) -> None:
    """Record a batch of events (our SDK sends task-run events this way)."""
    ingest(events, grouped=True)


@router.websocket("/in")
async def stream_events_in(websocket: WebSocket) -> None:
    """Receive the client's event stream: one Event JSON per frame after the handshake."""
    if not await accept_prefect_socket(websocket):
        return

    async def receive_frame() -> str | bytes | None:
        while True:
            try:
                message = await websocket.receive()
            except (WebSocketDisconnect, RuntimeError):
                return None
            if message["type"] == "websocket.disconnect":
                return None
            frame = message.get("text") if message.get("text") is not None else message.get("bytes")
            if frame is not None:
                return frame  # type: ignore[no-any-return]  # starlette types receive() messages as dict[str, Any]

    await ingest_frames(receive_frame)


@router.websocket("/out")
async def stream_workspace_events_out(websocket: WebSocket) -> None:
    """Open a WebSocket to stream Events: auth, a filter message, the recent matching
    events (backfill, up to 15 minutes), then live events as they are recorded."""
    await serve_subscription(websocket, "events")


def _next_page_link(request: Request, token: str | None) -> str | None:
    if not token:
        return None
    encoded = base64.b64encode(token.encode()).decode()
    return f"{request.base_url}api/events/filter/next?page-token={encoded}"


@router.post("/filter")
def read_events(
    request: Request,
    filter: EventFilter | None = Body(None, description="Criteria to narrow down the events"),
    limit: int = Body(INTERACTIVE_PAGE_SIZE, ge=0, le=INTERACTIVE_PAGE_SIZE, embed=True),
) -> EventPage:
    """Queries for Events matching the given filter criteria in the given Account.  Returns
    the first page of results, and the URL to request the next page (if there are more
    results).
    """
    events, total, token = event_store.query_events(filter or EventFilter(), page_size=limit)
    return EventPage(events=events, total=total, next_page=_next_page_link(request, token))


def _verified_token(page_token: str) -> str:
    try:
        decoded = base64.b64decode(page_token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN) from None
    if not decoded:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN)
    return decoded


@router.get("/filter/next", summary="Read Account Events Page")
def read_events_page(request: Request, page_token: str = Query(..., alias="page-token")) -> EventPage:
    """Returns the next page of Events for a previous query against the given Account, and
    the URL to request the next page (if there are more results).
    """
    token = _verified_token(page_token)
    try:
        events, total, next_token = event_store.query_next_page(token)
    except event_store.InvalidPageToken:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN) from None
    return EventPage(events=events, total=total, next_page=_next_page_link(request, next_token))


@router.post("/count-by/{countable}", summary="Count Account Events")
def count_events(
    filter: EventFilter,
    countable: Countable = Path(...),
    time_unit: TimeUnit = Body(default=TimeUnit.day),
    time_interval: float = Body(default=1.0, ge=0.01),
) -> list[EventCount]:
    """Returns distinct objects and the count of events associated with them.  Objects
    that can be counted include the day the event occurred, the type of event, or
    the IDs of the resources associated with the event.
    """
    try:
        return event_store.count_events(filter, countable, time_unit, time_interval)
    except event_store.InvalidCountParameters as exc:
        raise HTTPException(status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
