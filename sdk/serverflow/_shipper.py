"""Background batching of fire-and-forget API writes (task-run events, logs).

Flows must not wait for these writes, and a 1,000-task flow must not make thousands of round trips: items are
queued and a daemon thread posts them in batches, when a batch is full or every ``interval`` seconds.
``flush()`` blocks until everything queued before the call has been sent; the engine calls it before a flow
run's final state so the server sees task runs and logs before the run is reported finished.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from typing import Any, Callable

SendBatch = Callable[[list[dict[str, Any]]], None]


class BatchShipper:
    def __init__(
        self,
        name: str,
        send: SendBatch,
        *,
        max_items: int = 500,
        max_bytes: int = 1_000_000,
        interval: float = 2.0,
    ) -> None:
        self.name = name
        self._send = send
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._interval = interval
        self._cond = threading.Condition()
        self._items: list[tuple[dict[str, Any], int]] = []  # (item, encoded size)
        self._bytes = 0
        self._queued = 0  # sequence number of the last item queued
        self._shipped = 0  # sequence number of the last item sent (or dropped)
        self._flush_to = 0  # a flush() waits for items up to here: send them without waiting for more
        self._stopped = False
        self._warned = False
        self._thread = threading.Thread(target=self._run, name=f"serverflow-{name}", daemon=True)
        self._thread.start()

    def put(self, item: dict[str, Any]) -> None:
        size = len(json.dumps(item, default=str))
        with self._cond:
            self._items.append((item, size))
            self._bytes += size
            self._queued += 1
            if len(self._items) >= self._max_items or self._bytes >= self._max_bytes:
                self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every item queued so far is sent. Returns False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queued
            self._flush_to = max(self._flush_to, target)
            self._cond.notify_all()
            while self._shipped < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def _take_batch(self) -> tuple[list[dict[str, Any]], int]:
        """Up to max_items / max_bytes from the head of the queue, with the sequence number reached."""
        batch: list[dict[str, Any]] = []
        size = 0
        taken = 0
        while taken < len(self._items) and len(batch) < self._max_items:
            item, item_size = self._items[taken]
            if batch and size + item_size > self._max_bytes:
                break
            batch.append(item)
            size += item_size
            taken += 1
        del self._items[:taken]
        self._bytes -= size
        return batch, self._shipped + len(batch)

    def _run(self) -> None:
        while True:
            with self._cond:
                flushing = self._shipped < self._flush_to
                if not self._items and not self._stopped:
                    self._cond.wait(self._interval)
                elif (
                    not flushing
                    and not self._stopped
                    and len(self._items) < self._max_items
                    and self._bytes < self._max_bytes
                ):
                    # Partial batch: give producers up to one interval to fill it, unless someone flushes.
                    self._cond.wait(self._interval)
                if self._stopped and not self._items:
                    return
                batch, reached = self._take_batch()
            if batch:
                try:
                    self._send(batch)
                except Exception as exc:  # noqa: BLE001 - never let shipping break or block the flow
                    if not self._warned:
                        self._warned = True
                        print(f"serverflow: failed to send {self.name} to the API: {exc}", file=sys.stderr)
            with self._cond:
                if batch:
                    self._shipped = reached
                self._cond.notify_all()


_lock = threading.Lock()
_shippers: dict[tuple[str, str], BatchShipper] = {}


def get_shipper(kind: str, api_url: str, api_key: str | None) -> BatchShipper:
    """Process-wide shipper for ``kind`` ("events" or "logs") and one API; created on first use."""
    key = (kind, api_url)
    with _lock:
        shipper = _shippers.get(key)
        if shipper is None:
            shipper = _new_shipper(kind, api_url, api_key)
            _shippers[key] = shipper
        return shipper


def _new_shipper(kind: str, api_url: str, api_key: str | None) -> BatchShipper:
    from .client import SyncClient
    from .settings import get_settings

    settings = get_settings()
    client_box: list[SyncClient] = []

    def client() -> SyncClient:
        # Created in the shipper thread on first send; its own connection pool, separate from the engine's.
        if not client_box:
            client_box.append(SyncClient(api_url, api_key, timeout=settings.batch_timeout, max_retries=3))
        return client_box[0]

    if kind == "events":
        return BatchShipper(
            kind,
            lambda batch: client().emit_events(batch),
            max_items=settings.events_batch_size,
            interval=settings.flush_interval,
        )
    return BatchShipper(kind, lambda batch: client().create_logs(batch), interval=settings.flush_interval)


def flush_all(timeout: float = 30.0) -> bool:
    """Flush every shipper, all within ``timeout`` seconds in total. False if something is still queued."""
    deadline = time.monotonic() + timeout
    with _lock:
        shippers = list(_shippers.values())
    done = True
    for shipper in shippers:
        done = shipper.flush(max(0.0, deadline - time.monotonic())) and done
    return done


@atexit.register
def _flush_at_exit() -> None:
    from .settings import get_settings

    flush_all(timeout=get_settings().exit_flush_timeout)
