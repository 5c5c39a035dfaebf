"""Durability for the embedded emulator: a write-ahead journal plus fork snapshots.

moto keeps everything in memory. With a data directory the emulator appends every
successful AWS write request (DynamoDB writes, SQS queue creation/deletion) to a
journal and fsyncs it before the response leaves: a write is acknowledged only once
it is on disk. Concurrent writers share one fsync (group commit). On start the
latest snapshot and the journal segments after it are replayed through the same
WSGI app, in order, so the in-memory state is exactly the acknowledged one.

Snapshots compact the journal without stalling requests: under the write lock the
journal rotates to a new segment and the process forks (a copy-on-write,
point-in-time image); the child writes the tables and queues as synthetic requests
while the parent keeps serving; old segments are deleted once the snapshot is on
disk. A failed snapshot is logged and retried later (the journal still holds all).

Files in the data directory: `journal-<n>.log` segments, `snapshot-<n>.log` (the
state before segment n), `LOCK` (one emulator per directory). Each record is
`<length><crc32><json>`; a torn tail (kill -9 mid-append, never acknowledged) is cut
off at replay.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.local.journal import (
    DYNAMODB_PREFIX,
    JOURNALED_TARGETS,
    SEGMENT,
    SNAPSHOT,
    Journal,
    Record,
    numbered,
    read_records,
)
from infra.local.snapshots import Catalog, write_snapshot

logger = logging.getLogger("serverflow.emulator.journal")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def replay_request(app: WSGIApp, record: Record) -> str:
    """Run one recorded request through the app; returns its status line."""
    body = record.body.encode("utf-8")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": record.path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "0",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **record.headers,
    }
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return lambda _data: None

    for _chunk in app(environ, start_response):
        pass
    return status[0] if status else "500"


class DurableStore:
    """WSGI middleware: serialised DynamoDB, and (with a directory) journaled, fsynced writes.

    Real DynamoDB applies a conditional write atomically; moto's Python backend does not
    lock, so DynamoDB requests are served one at a time (other services, notably SQS long
    polls, stay concurrent). The same lock orders journal appends with in-memory writes."""

    def __init__(self, app: WSGIApp, directory: Path | None = None, snapshot_bytes: int = 16 << 20) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.directory = directory
        self.snapshot_bytes = snapshot_bytes
        self.catalog = Catalog()
        self.journal: Journal | None = None
        self._lock_file: int | None = None
        self._stopping = threading.Event()
        self._snapshotter: threading.Thread | None = None
        self.replayed = 0
        self.snapshots = 0

    # --- serving -----------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        journaled = self.journal is not None and target in JOURNALED_TARGETS
        if not target.startswith(DYNAMODB_PREFIX) and not journaled:
            return self.app(environ, start_response)
        body = b""
        if journaled:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
        status: list[str] = []

        def capture(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(line)
            return start_response(line, headers, exc_info)

        seq = 0
        with self.lock:
            if journaled and self.journal is not None and self.journal.closed:
                # Stopping: a write now could not be journaled, so it must not be applied either.
                start_response("503 Service Unavailable", [("Content-Type", "application/json"), ("Retry-After", "1")])
                return [b'{"__type": "ServiceUnavailable", "message": "The emulator is stopping"}']
            # Materialise the response inside the lock so the write completes before release.
            result = list(self.app(environ, capture))
            if journaled and status and status[0].startswith("200"):
                record = Record.from_environ(environ, body)
                seq = self._append(record)
        if seq:
            self._durable(seq)
        # Only now may the response (written lazily by the server) leave: the write is on disk.
        return result

    def _append(self, record: Record) -> int:
        assert self.journal is not None
        try:
            seq = self.journal.append(record)
        except OSError:
            # Memory now holds a write the journal does not: serving on would acknowledge
            # state a restart cannot rebuild. Stop hard, as a database does on a failed WAL write.
            logger.critical("Journal append failed; stopping the emulator", exc_info=True)
            os._exit(70)
        self.catalog.note(record)
        return seq

    def _durable(self, seq: int) -> None:
        assert self.journal is not None
        try:
            self.journal.wait_durable(seq)
        except OSError:
            logger.critical("Journal fsync failed; stopping the emulator", exc_info=True)
            os._exit(70)

    # --- start / stop --------------------------------------------------------------------

    def open(self) -> int:
        """Lock the directory, replay snapshot + journal, start a new segment. Returns records replayed."""
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + 30
        while True:
            try:
                fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                # A killed stack's emulator may take a moment to notice and exit.
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.directory} is in use by another Serverflow emulator") from None
                time.sleep(0.2)
        for stale in self.directory.glob("snapshot-*.tmp"):
            stale.unlink()
        snapshots = numbered(self.directory, SNAPSHOT)
        segments = numbered(self.directory, SEGMENT)
        start = snapshots[-1][0] if snapshots else 0
        count = 0
        if snapshots:
            count += self._replay(read_records(snapshots[-1][1], repair=False))
        live = [(n, p) for n, p in segments if n >= start]
        for position, (_, path) in enumerate(live):
            count += self._replay(read_records(path, repair=position == len(live) - 1))
        next_segment = max([start, *(n + 1 for n, _ in segments)]) if (segments or snapshots) else 1
        self.journal = Journal(self.directory, max(next_segment, 1))
        self.replayed = count
        return count

    def _replay(self, records: Iterable[Record]) -> int:
        count = 0
        for record in records:
            status = replay_request(self.app, record)
            if not status.startswith("200"):
                # It succeeded when journaled, against the same state: this cannot happen unless
                # the files were edited. Say so rather than silently diverge.
                logger.error("Replayed %s answered %s", record.target, status)
            self.catalog.note(record)
            count += 1
        return count

    def start_snapshots(self, interval: float = 10.0) -> None:
        def loop() -> None:
            while not self._stopping.wait(interval):
                if self.journal is not None and self.journal.segment_bytes >= self.snapshot_bytes:
                    try:
                        self.snapshot()
                    except Exception:
                        logger.exception("Snapshot failed; retrying at the next interval")

        self._snapshotter = threading.Thread(target=loop, name="snapshots", daemon=True)
        self._snapshotter.start()

    def snapshot(self) -> bool:
        """Point-in-time snapshot in a forked child; old journal segments go once it is on disk."""
        assert self.journal is not None and self.directory is not None
        with self.lock:
            segment = self.journal.rotate()
            catalog = list(self.catalog.ordered())
            pid = os.fork()
            if pid == 0:  # child: a frozen copy of memory; write it and leave without cleanup
                code = 1
                try:
                    write_snapshot(self.directory, segment, catalog)
                    code = 0
                except BaseException:  # the child's only report (logged; the parent sees the exit status)
                    logger.exception("Snapshot of segment %s failed", segment)
                finally:
                    os._exit(code)
        _, status = os.waitpid(pid, 0)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            for number, path in numbered(self.directory, SEGMENT):
                if number < segment:
                    path.unlink()
            for number, path in numbered(self.directory, SNAPSHOT):
                if number < segment:
                    path.unlink()
            self.snapshots += 1
            return True
        logger.error("Snapshot child exited with status %s; journal segments kept", status)
        return False

    def close(self) -> None:
        """Stop snapshots, wait for in-flight writes, close the journal (fsynced)."""
        self._stopping.set()
        with self.lock:
            if self.journal is not None:
                self.journal.close()
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None


# --- the pre-journal format -------------------------------------------------------------


def import_legacy_snapshot(endpoint_url: str, region: str, table_name: str, directory: Path) -> int:
    """Load a `table.jsonl` written by earlier versions (`--persist`) once, then set it aside."""
    path = directory / "table.jsonl"
    if not path.exists():
        return 0
    import boto3

    table = boto3.resource("dynamodb", endpoint_url=endpoint_url, region_name=region).Table(table_name)
    count = 0
    with open(path, encoding="utf-8") as handle, table.batch_writer() as batch:
        for line in handle:
            if line.strip():
                batch.put_item(Item=json.loads(line, parse_float=Decimal))
                count += 1
    path.rename(directory / "table.jsonl.imported")
    return count
