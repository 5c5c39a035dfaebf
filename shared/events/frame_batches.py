"""Ingest a websocket's event frames in batches without delaying any of them.

The prefect client sends one event per frame and expects no acknowledgement. A reader
task queues frames as they arrive; the writer takes the first waiting frame plus every
frame that queued up behind it (up to MAX_BATCH) and ingests them together. Idle, each
frame is written alone at once; under load, frames pile up while a batch is being
written and the next write takes them all (one BatchWriteItem per 25 events, one
conditional upsert per task run instead of per event).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from shared.events.ingest import ingest, parse_frame
from shared.schemas.events import Event

MAX_BATCH = 200
Frame = str | bytes


async def ingest_frames(receive_frame: Callable[[], Awaitable[Frame | None]]) -> None:
    """Read frames until `receive_frame` returns None (disconnect), ingesting them in batches."""
    queue: asyncio.Queue[Frame | None] = asyncio.Queue()

    async def read() -> None:
        try:
            while (frame := await receive_frame()) is not None:
                queue.put_nowait(frame)
        finally:
            queue.put_nowait(None)

    reader = asyncio.create_task(read())
    try:
        done = False
        while not done:
            frames = [await queue.get()]
            while not queue.empty() and len(frames) < MAX_BATCH:
                frames.append(queue.get_nowait())
            if None in frames:
                done = True
                frames = [frame for frame in frames if frame is not None]
            events = [event for frame in frames if frame is not None and (event := parse_frame(frame)) is not None]
            if events:
                # Sync DynamoDB I/O off the event loop, so pings keep being answered.
                await run_in_threadpool(_ingest, events)
    finally:
        reader.cancel()


def _ingest(events: list[Event]) -> None:
    ingest(events)
