"""Background batching of fire-and-forget API writes (task-run events, logs).

Flows must not wait for these writes, and a 1,000-task flow must not make thousands of round trips: items are
queued and one daemon thread per kind posts them in order, in batches: a batch leaves when it is full, when its
oldest item has waited ``interval`` seconds, or at once when someone flushes; items queued while a batch is in
flight make the next batch. One sender and a FIFO queue keep a task run's state events in the order they
happened. The queue is bounded (``max_queued`` items): past it, producers wait for the sender instead of
growing memory without limit. ``flush()`` blocks until everything queued before the call has been sent
(acknowledged: stored by the server). A flow's end does not wait for it, as prefect's engine does not wait for
its events worker; the interpreter's exit drains what is left, and ``serverflow.flush()`` waits
for everything where a process may be frozen or killed right after a flow (a Lambda handler). The server records
the task runs from the stored events asynchronously (typically well under a second later), as prefect's does.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SendBatch = Callable[[list[dict[str, Any]]], None]


class BatchShipper:
    def __init__(
        self,
        name: str,
        send: SendBatch,
        *,
        max_items: int = 500,
        max_bytes: int = 1_000_000,
        interval: float = 0.25,
        max_queued: int = 10_000,
    ) -> None:
        self.name = name
        self._send = send
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._interval = interval
        self._max_queued = max(max_queued, max_items)
        self._cond = threading.Condition()
        self._items: list[tuple[dict[str, Any], int, float]] = []  # (item, encoded size, monotonic time queued)
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
            while len(self._items) >= self._max_queued and self._thread.is_alive() and not self._stopped:
                # Bounded buffer: wait for the sender (it drains even a failing API: failed batches are dropped).
                self._cond.notify_all()
                self._cond.wait(self._interval)
            self._items.append((item, size, time.monotonic()))
            self._bytes += size
            self._queued += 1
            if len(self._items) >= self._max_items or self._bytes >= self._max_bytes:
                self._cond.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every item queued so far is sent. Returns False on timeout."""
        return self.wait_sent(self.request_flush(), timeout)

    def request_flush(self) -> int:
        """Send everything queued so far without waiting for more items; returns the sequence number to wait for."""
        with self._cond:
            target = self._queued
            self._flush_to = max(self._flush_to, target)
            self._cond.notify_all()
            return target

    def wait_sent(self, target: int, timeout: float) -> bool:
        """Wait until the items up to ``target`` (request_flush) are sent. Returns False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
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

    def _full(self) -> bool:
        return len(self._items) >= self._max_items or self._bytes >= self._max_bytes

    def _take_batch(self) -> tuple[list[dict[str, Any]], int]:
        """Up to max_items / max_bytes from the head of the queue, with the sequence number reached."""
        batch: list[dict[str, Any]] = []
        size = 0
        taken = 0
        while taken < len(self._items) and len(batch) < self._max_items:
            item, item_size, _ = self._items[taken]
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
                if not self._items and not self._stopped:
                    self._cond.wait(self._interval)
                elif not self._stopped and self._shipped >= self._flush_to and not self._full():
                    # Partial batch: give producers until its oldest item has waited one interval, unless
                    # someone flushes or it fills up meanwhile.
                    due = self._items[0][2] + self._interval - time.monotonic()
                    if due > 0:
                        self._cond.wait(due)
                        if self._shipped >= self._flush_to and not self._full() and not self._stopped:
                            continue  # woken early (a put, a flush already served): look again
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


def flush_together(shippers: list[BatchShipper], timeout: float) -> bool:
    """Flush several shippers at once (their senders work in parallel: the wait is the slowest one's, not the
    sum), all within ``timeout`` seconds. False if something is still queued."""
    deadline = time.monotonic() + timeout
    targets = [(shipper, shipper.request_flush()) for shipper in shippers]
    done = True
    for shipper, target in targets:
        done = shipper.wait_sent(target, max(0.0, deadline - time.monotonic())) and done
    return done


def flush(timeout: float = 30.0) -> bool:
    """Wait until every task-run event and log queued so far is acknowledged by the API (stored), within
    ``timeout`` seconds in total. False if something is still queued. Public as ``serverflow.flush``."""
    with _lock:
        shippers = list(_shippers.values())
    return flush_together(shippers, timeout)


@atexit.register
def _flush_at_exit() -> None:
    from .settings import get_settings

    flush(timeout=get_settings().exit_flush_timeout)
