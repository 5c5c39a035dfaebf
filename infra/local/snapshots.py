"""Snapshots of the emulator's state, written by a forked child as synthetic journal records.

A snapshot is the state just before journal segment n (`snapshot-<n>.log`): the requests that create
the tables, their TTL and the queues (kept in a `Catalog` as they are journaled), and one PutItem per
item, read from moto's memory in the child, a copy-on-write point-in-time image of the parent.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra.local.journal import DYNAMODB_PREFIX, Record, fsync_dir


class Catalog:
    """The requests that recreate the non-item state (tables, TTL, queues), kept for snapshots."""

    def __init__(self) -> None:
        self.entries: dict[str, Record] = {}

    def note(self, record: Record) -> None:
        body = json.loads(record.body or "{}")
        action = record.target.rsplit(".", 1)[-1]
        if action in ("CreateTable", "UpdateTable"):
            if action == "CreateTable":
                self.entries[f"table:{body['TableName']}"] = record
        elif action == "UpdateTimeToLive":
            self.entries[f"ttl:{body['TableName']}"] = record
        elif action == "DeleteTable":
            self.entries.pop(f"table:{body['TableName']}", None)
            self.entries.pop(f"ttl:{body['TableName']}", None)
        elif action == "CreateQueue":
            self.entries[f"queue:{body['QueueName']}"] = record
        elif action == "SetQueueAttributes":
            self.entries[f"queueattrs:{_queue_name(body['QueueUrl'])}"] = record
        elif action == "DeleteQueue":
            name = _queue_name(body["QueueUrl"])
            self.entries.pop(f"queue:{name}", None)
            self.entries.pop(f"queueattrs:{name}", None)

    def ordered(self) -> list[tuple[str, Record]]:
        rank = {"table": 0, "ttl": 1, "queue": 2, "queueattrs": 3}
        return sorted(self.entries.items(), key=lambda kv: rank[kv[0].split(":", 1)[0]])


def _queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _items(catalog: list[tuple[str, Record]]) -> Iterator[Record]:
    """PutItem requests for every item of every cataloged table (runs in the snapshot child)."""
    from moto.dynamodb.models import dynamodb_backends

    tables = {key.split(":", 1)[1]: record for key, record in catalog if key.startswith("table:")}
    for _account, regions in dynamodb_backends.items():
        for _region, backend in regions.items():
            for name, table in backend.tables.items():
                created = tables.get(name)
                if created is None:
                    continue
                put_headers = {**created.headers, "HTTP_X_AMZ_TARGET": DYNAMODB_PREFIX + "PutItem"}
                for item in list(_all_items(table)):
                    body = json.dumps({"TableName": name, "Item": item.to_json()["Attributes"]}, default=_number)
                    yield Record(target=DYNAMODB_PREFIX + "PutItem", headers=put_headers, path=created.path, body=body)


def _all_items(table: Any) -> Iterator[Any]:
    for value in table.items.values():
        if isinstance(value, dict):
            yield from value.values()
        else:
            yield value


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):  # a Binary value moto holds as bytes: the wire form is base64 text
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Cannot journal {type(value)!r}")


def write_snapshot(directory: Path, segment: int, catalog: list[tuple[str, Record]]) -> None:
    """Write snapshot-<segment>.log atomically: the state just before journal segment `segment`."""
    tmp = directory / f"snapshot-{segment:08d}.tmp"
    with open(tmp, "wb", buffering=1 << 20) as writer:
        for key, record in catalog:
            if key.startswith(("table:", "ttl:")):
                writer.write(record.encode())
        for record in _items(catalog):
            writer.write(record.encode())
        for key, record in catalog:
            if key.startswith(("queue:", "queueattrs:")):
                writer.write(record.encode())
        writer.flush()
        os.fsync(writer.fileno())
    os.replace(tmp, directory / f"snapshot-{segment:08d}.log")
    fsync_dir(directory)
