"""Emulator Query cost: moto's own Query beside the ordered-partition Query, in one run.

`python -m bench.emulator_query [--items 5000] [--limit 100] [--repeat 20]`

One 5,000-item partition, on the base table and on a GSI (the emulator's table from
template.yaml), queried with Limit 100 in the shapes the storage layer uses: newest
first, a sort-key range, begins_with, a FilterExpression, a deep page (ExclusiveStartKey).
Each shape runs through moto's `Table.query` (sorts the whole partition) and through the
emulator's (reads only the page), on the same items; the answers are checked equal, and
per-Query milliseconds (median of --repeat) and the speedup are printed. Measured at the
backend (no HTTP), so the figures are the emulator's own cost per Query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

from infra.local import moto_speedups
from infra.local.provision import create_table

TABLE = "bench-emulator"
REGION = "us-east-1"


def _seed(items: int) -> None:
    resource = boto3.resource("dynamodb", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with resource.Table(TABLE).batch_writer() as batch:
        for n in range(items):
            stamp = f"2026-11-{1 + n * 28 // items:02d}T{n % 24:02d}:00:{n:06d}"
            batch.put_item(
                Item={
                    "PK": "FLOW_RUNS",
                    "SK": f"RUN#{stamp}",
                    "entity": "flow_run",
                    "state": ["COMPLETED", "FAILED", "RUNNING"][n % 3],
                    "GSI1PK": "FLOW#f1",
                    "GSI1SK": f"{stamp}",
                    "payload": "x" * 200,
                }
            )


def _shapes(limit: int) -> dict[str, dict[str, Any]]:
    base = {"hash_key_dict": {"S": "FLOW_RUNS"}, "hash_key_conditions": [("PK", {"S": "FLOW_RUNS"})]}
    gsi = {
        "hash_key_dict": {"S": "FLOW#f1"},
        "hash_key_conditions": [("GSI1PK", {"S": "FLOW#f1"})],
        "index_name": "GSI1",
    }
    deep_start = {"PK": {"S": "FLOW_RUNS"}, "SK": {"S": "RUN#2026-11-14T00:00:002400"}}
    return {
        "base, newest first": {**base, "scan_index_forward": False},
        "base, SK range": {
            **base,
            "range_comparison": "BETWEEN",
            "range_value_dicts": [{"S": "RUN#2026-11-10"}, {"S": "RUN#2026-11-20"}],
            "range_key_conditions": [("SK", "BETWEEN", [{"S": "RUN#2026-11-10"}, {"S": "RUN#2026-11-20"}])],
        },
        "base, deep page (ESK)": {**base, "exclusive_start_key": deep_start},
        "GSI, begins_with": {
            **gsi,
            "range_comparison": "BEGINS_WITH",
            "range_value_dicts": [{"S": "2026-11-2"}],
            "range_key_conditions": [("GSI1SK", "BEGINS_WITH", [{"S": "2026-11-2"}])],
        },
        "GSI, filter, newest first": {
            **gsi,
            "scan_index_forward": False,
            "filter_expression": "#s = :s",
            "expr_names": {"#s": "state"},
            "expr_values": {":s": {"S": "FAILED"}},
        },
    }


def _query(backend: DynamoDBBackend, limit: int, shape: dict[str, Any]) -> tuple[list[Any], int, Any]:
    args = {
        "range_comparison": None,
        "range_value_dicts": [],
        "exclusive_start_key": None,
        "scan_index_forward": True,
        "projection_expressions": None,
        "index_name": None,
        "range_key_conditions": None,
        **shape,
    }
    return backend.query(TABLE, limit=limit, **args)


def _time(run: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    moto_speedups.apply()
    ordered = Table.query
    with mock_aws():
        create_table(None, REGION, TABLE)  # type: ignore[arg-type]  # no endpoint: mock_aws serves boto3's default
        _seed(options.items)
        backend = dynamodb_backends["123456789012"][REGION]
        print(
            f"Query on one {options.items}-item partition, Limit {options.limit}, median of {options.repeat} (ms per Query)"
        )
        print(f"{'shape':28} {'moto ms':>9} {'ordered ms':>11} {'speedup':>8} {'items':>6}")
        for name, shape in _shapes(options.limit).items():
            ours = _query(backend, options.limit, shape)
            Table.query = moto_speedups.moto_query  # type: ignore[method-assign,assignment]  # swap moto's own Query back in to compare
            try:
                theirs = _query(backend, options.limit, shape)
                before = _time(partial(_query, backend, options.limit, shape), options.repeat)
            finally:
                Table.query = ordered  # type: ignore[method-assign]  # restore the ordered Query
            if [i.to_json() for i in ours[0]] != [i.to_json() for i in theirs[0]] or ours[1:] != theirs[1:]:
                raise SystemExit(f"{name}: the ordered Query answered differently from moto's")
            after = _time(partial(_query, backend, options.limit, shape), options.repeat)
            print(f"{name:28} {before:9.2f} {after:11.3f} {before / after:7.0f}x {len(ours[0]):6}")


if __name__ == "__main__":
    main()
