"""The CLI worker: long-polls the pool's SQS queue for hints and, as a safety net for lost messages,
the API's ``get_scheduled_flow_runs``; runs up to ``limit`` flow runs at once; heartbeats.

A message is a wake-up: on receiving hints the worker asks ``get_scheduled_flow_runs`` (so queue
priorities, concurrency limits and pauses hold) and claims only the runs it returns. A returned run whose
hint is in hand keeps that message invisible while it executes; the other hints are triaged
(``record.triage``): poison is left for the DLQ, spent hints are deleted, hints for runs not yet due or
not handed out are released briefly on their first receives and deleted after that (never
dead-lettered), leaving such runs to the API poll."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from ..client import SyncClient
from ..exceptions import ObjectNotFound, ServerflowError
from . import record
from .api import WorkerAPI
from .console import elapsed, say
from .options import WorkerOptions
from .queue import Message, PoolQueue, describe, resolve_queue_url, sqs_client

RELEASE_SECONDS = 5  # a hint for a queue this worker does not serve becomes visible again this soon
MAX_VISIBILITY_SECONDS = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility


class Worker:
    def __init__(self, options: WorkerOptions, client: SyncClient, api_key: str | None = None) -> None:
        self.options = options
        self.api = WorkerAPI(client, options.pool, options.name, api_key)
        self.queue: PoolQueue | None = None
        self.stopping = threading.Event()
        self.in_flight: dict[str, tuple[Future[Any], float]] = {}
        self.runs_done = 0
        self.next_api_poll = 0.0
        self._lock = threading.Lock()

    # --- setup -----------------------------------------------------------------------------------
    def _ensure_pool(self) -> None:
        try:
            self.api.read_pool()
        except ObjectNotFound:
            # As `prefect worker start`: a missing pool is created (the server creates its SQS queue).
            self.api.client.create_work_pool({"name": self.options.pool, "type": "process"})
            self.api.read_pool()
            say(f"created work pool {self.options.pool!r}")

    def _connect_queue(self) -> None:
        """SQS when the pool has a queue we can reach, else API polling; says which, and why, in one line."""
        if not self.options.use_sqs:
            say(f"mode: API polling every {self.options.query_seconds:g}s (--no-sqs)")
            return
        try:
            location = None if self.options.queue_url else self.api.dispatch_queue()
            if location is not None and not location.queue_url:
                say(
                    f"mode: API polling every {self.options.query_seconds:g}s (work pool {self.options.pool!r} has no SQS queue)"
                )
                return
            client = sqs_client(location)
            assert self.api.pool is not None
            url = self.options.queue_url or (location.queue_url if location else None)
            self.queue = PoolQueue(resolve_queue_url(client, self.api.pool.id, url), client)
            self.queue.check()  # reachability and credentials, now rather than on the first long poll
            told = (
                "--queue-url" if self.options.queue_url else ("the API" if location else "the queue naming convention")
            )
            say(
                f"mode: SQS long polling on {describe(location) if location and not self.options.queue_url else self.queue.url} (from {told}), API poll every {self.options.query_seconds:g}s as a safety net"
            )
        except Exception as exc:  # noqa: BLE001 - degrade to API polling, never refuse to work
            say(f"mode: API polling every {self.options.query_seconds:g}s (SQS unavailable: {exc})")
            self.queue = None

    # --- heartbeat -------------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        while not self.stopping.wait(self.options.heartbeat_seconds):
            self._heartbeat()
            with self._lock:
                running = [f"{rid} ({elapsed(started)})" for rid, (_, started) in self.in_flight.items()]
            if running:
                say(f"{len(running)} running: {', '.join(running)}")

    def _heartbeat(self) -> None:
        try:
            self.api.heartbeat(self.options.heartbeat_seconds)
        except ServerflowError as exc:
            say(f"heartbeat failed: {exc}")

    # --- one unit of work ----------------------------------------------------------------------------
    def _visibility_keeper(self, message: Message) -> Any:
        assert self.queue is not None
        queue, extend = self.queue, self.options.visibility_timeout or 60
        last = [0.0]  # the first tick (right after the claim) extends at once

        def tick() -> None:
            if time.monotonic() - last[0] >= max(0.5, extend / 2 - 1):
                queue.keep_invisible(message, extend)
                last[0] = time.monotonic()

        return tick

    def _process_run(self, run_id: str, message: Message | None = None) -> None:
        tick = self._visibility_keeper(message) if message is not None else (lambda: None)
        outcome = record.handle_run(self.api, run_id, self.options, tick, stopping=self.stopping)
        if message is not None and self.queue is not None:
            if outcome.acknowledge:
                self.queue.delete(message)
            elif outcome is not record.Outcome.POISON:
                self._release(message, record.RETRY_SECONDS)
        self._count(outcome)

    def _count(self, outcome: record.Outcome) -> None:
        if outcome is record.Outcome.DONE:
            with self._lock:
                self.runs_done += 1

    def _submit(self, pool: ThreadPoolExecutor, run_id: str, fn: Any, *args: Any) -> None:
        future = pool.submit(fn, *args)
        with self._lock:
            self.in_flight[run_id] = (future, time.monotonic())
        future.add_done_callback(lambda _: self._finished(run_id))

    def _finished(self, run_id: str) -> None:
        with self._lock:
            self.in_flight.pop(run_id, None)
            # A freed slot may unblock a run held back by a concurrency limit: ask the API next round.
            self.next_api_poll = 0.0

    def _free_slots(self) -> int:
        with self._lock:
            return self.options.limit - len(self.in_flight)

    def _busy(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self.in_flight

    # --- polling ---------------------------------------------------------------------------------
    def _poll_queue(self, pool: ThreadPoolExecutor) -> int:
        """Receive hints; each batch wakes one API poll, whose runs are started. Returns how many."""
        if self.queue is None or self._free_slots() <= 0:
            return 0
        wait_seconds = self.options.receive_wait_seconds
        messages = self.queue.receive(self._free_slots(), wait_seconds, self.options.visibility_timeout)
        hints: dict[str, list[Message]] = {}
        for message in messages:
            try:
                hint = record.parse_hint(message.body)
            except record.BadHint as exc:
                say(
                    f"poison message {message.message_id} (receive #{message.receive_count}): {exc}; left for the dead-letter queue"
                )
                continue
            if hint.work_pool_name and hint.work_pool_name != self.options.pool:
                say(
                    f"message {message.message_id} for pool {hint.work_pool_name!r} on {self.options.pool!r}'s queue: left for the dead-letter queue"
                )
                continue
            if self.options.queues and hint.work_queue_name not in self.options.queues:
                self._release(message, RELEASE_SECONDS)  # for a worker serving that queue
                continue
            if self._busy(hint.flow_run_id):
                self.queue.delete(message)  # a duplicate hint for a run this worker already holds
                continue
            hints.setdefault(hint.flow_run_id, []).append(message)
        if not hints:
            return 0
        try:
            runs = self.api.scheduled_runs(self.options.queues, self.options.prefetch_seconds, self._free_slots())
        except ServerflowError as exc:
            say(f"polling the API failed: {exc}")
            return 0  # the hints come back after their visibility timeout
        with self._lock:
            self.next_api_poll = time.monotonic() + self.options.query_seconds  # this was the API poll
        started = 0
        for run in runs:
            run_id = str(run.id)
            held = hints.pop(run_id, [])
            for duplicate in held[1:]:
                self.queue.delete(duplicate)
            if self._busy(run_id):
                for message in held[:1]:
                    self.queue.delete(message)
                continue
            started += 1
            self._submit(pool, run_id, self._process_run, run_id, held[0] if held else None)
        for run_id, held in hints.items():
            self._dispose(run_id, held)
        return started

    def _dispose(self, run_id: str, held: list[Message]) -> None:
        """A hinted run the API did not hand out (see the module docstring)."""
        assert self.queue is not None
        disposal, wait_seconds = record.triage(self.api, run_id, self.options.prefetch_seconds)
        for message in held:
            if disposal is record.Disposal.POISON:
                say(f"flow run {run_id} does not exist: message {message.message_id} left for the dead-letter queue")
            elif disposal is record.Disposal.SPENT:
                self.queue.delete(message)
            elif disposal is record.Disposal.EARLY:
                self._release(message, wait_seconds)
            elif disposal is record.Disposal.BLOCKED:
                if message.receive_count > record.MAX_RELEASE_RECEIVES:
                    say(
                        f"flow run {run_id} is due but held back (concurrency limit, pause or priority): the API poll will start it"
                    )
                self._release(message, record.RETRY_SECONDS)
            # UNKNOWN: untouched, it comes back after the visibility timeout

    def _release(self, message: Message, seconds: float) -> None:
        """Make a live run's hint visible again after ``seconds``, or delete it once it has been received
        MAX_RELEASE_RECEIVES times: SQS dead-letters on the 5th receive, and the API poll is the safety net."""
        assert self.queue is not None
        if message.receive_count > record.MAX_RELEASE_RECEIVES:
            self.queue.delete(message)
        else:
            self.queue.keep_invisible(message, max(1, min(int(seconds + 0.999), MAX_VISIBILITY_SECONDS)))

    def _poll_api(self, pool: ThreadPoolExecutor) -> int:
        free = self._free_slots()
        if free <= 0:
            return 0
        try:
            runs = self.api.scheduled_runs(self.options.queues, self.options.prefetch_seconds, free)
        except ServerflowError as exc:
            say(f"polling the API failed: {exc}")
            return 0
        started = 0
        for run in runs:
            if not self._busy(str(run.id)):
                started += 1
                self._submit(pool, str(run.id), self._process_run, str(run.id))
        return started

    # --- main ------------------------------------------------------------------------------------
    def run(self) -> int:
        self._ensure_pool()
        self._heartbeat()
        self._connect_queue()
        say(
            f"worker {self.options.name!r} started on pool {self.options.pool!r} (limit {self.options.limit}{', drain mode' if self.options.once else ''})"
        )
        beat = threading.Thread(target=self._heartbeat_loop, name="worker-heartbeat", daemon=True)
        beat.start()
        self._install_signals()
        with ThreadPoolExecutor(max_workers=self.options.limit, thread_name_prefix="flow-run") as pool:
            try:
                while not self.stopping.is_set():
                    found = self._poll_queue(pool)
                    idle = not found and self._free_slots() == self.options.limit
                    # The API is polled every query_seconds, and once more before a drain-mode exit.
                    polled = time.monotonic() >= self.next_api_poll or (self.options.once and idle)
                    if polled:
                        with self._lock:
                            self.next_api_poll = time.monotonic() + self.options.query_seconds
                        found += self._poll_api(pool)
                    if self.options.once and polled and not found and self._free_slots() == self.options.limit:
                        break  # drained: nothing queued, nothing due, nothing running
                    self._pause(found)
            except KeyboardInterrupt:
                self.stopping.set()  # running flows are killed and reported Crashed by their supervisors
        self.stopping.set()
        say(f"worker {self.options.name!r} exiting after {self.runs_done} run(s)")
        return 0

    def _pause(self, found: int) -> None:
        with self._lock:
            futures = [f for f, _ in self.in_flight.values()]
        if futures and (self._free_slots() <= 0 or self.queue is None):
            wait(futures, timeout=1.0, return_when=FIRST_COMPLETED)
        elif self.queue is None and not found:
            self.stopping.wait(1.0 if self.options.once else min(self.options.query_seconds, 5.0))

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
