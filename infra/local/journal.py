"""The emulator's write-ahead journal: records of acknowledged AWS write requests, in segments.

Each record is `<length><crc32><json>`: a torn or corrupt tail (kill -9 mid-append, never
acknowledged) is detected and cut off at replay. `Journal.append` runs under the emulator's write
lock (journal order = apply order); `wait_durable` fsyncs with group commit: the first waiter syncs
for everyone queued behind it. Files: `journal-<n>.log` segments in the data directory.
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger("serverflow.emulator.journal")

HEADER = struct.Struct("<II")  # payload length, crc32 of payload
SEGMENT = re.compile(r"^journal-(\d{8})\.log$")
SNAPSHOT = re.compile(r"^snapshot-(\d{8})\.log$")
DYNAMODB_PREFIX = "DynamoDB_20120810."
# The requests that change state, as their X-Amz-Target; reads are never journaled.
JOURNALED_TARGETS = {
    DYNAMODB_PREFIX + name
    for name in (
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "CreateTable",
        "DeleteTable",
        "UpdateTable",
        "UpdateTimeToLive",
    )
} | {"AmazonSQS.CreateQueue", "AmazonSQS.DeleteQueue", "AmazonSQS.SetQueueAttributes"}
# Headers moto needs to route a replayed request (service, region from the credential scope).
_KEPT_HEADERS = ("HTTP_HOST", "CONTENT_TYPE", "HTTP_X_AMZ_TARGET", "HTTP_AUTHORIZATION")


@dataclass(frozen=True)
class Record:
    """One journaled request: enough to replay it through the WSGI app."""

    target: str
    headers: dict[str, str]
    path: str
    body: str

    def encode(self) -> bytes:
        payload = json.dumps({"t": self.target, "h": self.headers, "p": self.path, "b": self.body}).encode()
        return HEADER.pack(len(payload), zlib.crc32(payload)) + payload

    @staticmethod
    def decode(payload: bytes) -> Record:
        raw = json.loads(payload)
        return Record(target=raw["t"], headers=raw["h"], path=raw["p"], body=raw["b"])

    @staticmethod
    def from_environ(environ: dict[str, Any], body: bytes) -> Record:
        headers = {key: str(environ[key]) for key in _KEPT_HEADERS if environ.get(key)}
        return Record(
            target=str(environ.get("HTTP_X_AMZ_TARGET", "")),
            headers=headers,
            path=str(environ.get("PATH_INFO") or "/"),
            body=body.decode("utf-8"),
        )


def read_records(path: Path, *, repair: bool) -> Iterator[Record]:
    """Records of one file in order. A torn or corrupt tail ends the file; with `repair` it is cut off."""
    with open(path, "rb") as handle:
        data = handle.read()
    offset = 0
    while offset < len(data):
        if offset + HEADER.size > len(data):
            break
        length, crc = HEADER.unpack_from(data, offset)
        payload = data[offset + HEADER.size : offset + HEADER.size + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            break
        yield Record.decode(payload)
        offset += HEADER.size + length
    if offset < len(data):
        if not repair:
            raise RuntimeError(f"{path} is corrupt at byte {offset} (not its last segment): refusing to guess")
        logger.warning("Cutting a torn tail of %d bytes off %s (never acknowledged)", len(data) - offset, path)
        with open(path, "r+b") as handle:
            handle.truncate(offset)
            os.fsync(handle.fileno())


def numbered(directory: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    found = []
    for entry in directory.iterdir():
        match = pattern.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry))
    return sorted(found)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """Append-only segments with group commit. `append` runs under the caller's write lock."""

    def __init__(self, directory: Path, segment: int) -> None:
        self.directory = directory
        self.segment = segment
        self._fd = self._open(segment)
        self._cond = threading.Condition()
        self._written = 0  # records appended (monotonic across segments)
        self._synced = 0  # records known to be on disk
        self._syncing = False
        self.segment_bytes = 0
        self.closed = False

    def _open(self, segment: int) -> int:
        path = self.directory / f"journal-{segment:08d}.log"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fsync_dir(self.directory)
        return fd

    def append(self, record: Record) -> int:
        """Write one record (not yet durable); returns its sequence number for `wait_durable`."""
        data = record.encode()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.segment_bytes += len(data)
        with self._cond:
            self._written += 1
            return self._written

    def wait_durable(self, seq: int) -> None:
        """Return once record `seq` is fsynced. One waiter fsyncs for everyone queued behind it."""
        with self._cond:
            while self._synced < seq:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                target, fd = self._written, self._fd
                self._cond.release()
                try:
                    os.fsync(fd)
                finally:
                    self._cond.acquire()
                    self._syncing = False
                self._synced = max(self._synced, target)
                self._cond.notify_all()

    def rotate(self) -> int:
        """Close the current segment (synced) and start the next; call under the write lock."""
        with self._cond:
            while self._syncing:
                self._cond.wait()
            os.fsync(self._fd)
            os.close(self._fd)
            self._synced = self._written
            self.segment += 1
            self._fd = self._open(self.segment)
            self.segment_bytes = 0
            self._cond.notify_all()
            return self.segment

    def close(self) -> None:
        with self._cond:
            while self._syncing:
                self._cond.wait()
            if self.closed:
                return
            os.fsync(self._fd)
            os.close(self._fd)
            self._synced = self._written
            self.closed = True
            self._cond.notify_all()
