"""Optional persistence for the in-memory emulator: snapshot the table to a file.

moto keeps everything in memory; with `--persist DIR` the stack restores the
table from DIR/table.jsonl at start and writes it back periodically and on stop.
(A Scan is fine here: this is an admin path, never an API path.)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import boto3


def _table(endpoint_url: str, region: str, table_name: str) -> Any:
    return boto3.resource("dynamodb", endpoint_url=endpoint_url, region_name=region).Table(table_name)


def snapshot(endpoint_url: str, region: str, table_name: str, directory: Path) -> int:
    directory.mkdir(parents=True, exist_ok=True)
    table = _table(endpoint_url, region, table_name)
    count = 0
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".table-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            for item in page["Items"]:
                handle.write(json.dumps(item, default=_encode) + "\n")
                count += 1
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    os.replace(tmp, directory / "table.jsonl")
    return count


def restore(endpoint_url: str, region: str, table_name: str, directory: Path) -> int:
    path = directory / "table.jsonl"
    if not path.exists():
        return 0
    table = _table(endpoint_url, region, table_name)
    count = 0
    with open(path, encoding="utf-8") as handle, table.batch_writer() as batch:
        for line in handle:
            if line.strip():
                batch.put_item(Item=json.loads(line, parse_float=_decimal))
                count += 1
    return count


def _encode(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(f"Cannot persist {type(value)!r}")


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)
