"""Blocks: DynamoDB work per block operation on the Serverflow local stack (items read vs returned).

    .venv/bin/python -m bench.blocks [--docs 200] [--repeat 20]

Seeds block types, schemas and documents (named, anonymous, and parents referencing a saved child),
then runs the block operations a client and the UI use, each `--repeat` times, and prints per
operation: DynamoDB calls per request, items the table returned to the server (GetItem/BatchGetItem
items + Query items read) and items the API returned. The first request of the run is measured
separately: it includes the one-off registration of the system block types on the fresh table.
Results also go to bench/results/blocks-latest.json.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.procs import start_serverflow

RESULTS = Path(__file__).resolve().parent / "results"
SCHEMA_FIELDS = {
    "title": "BenchCreds",
    "type": "object",
    "properties": {"user": {"type": "string"}, "password": {"type": "string", "format": "password"}},
    "secret_fields": ["password"],
}


def _seed(http: httpx.Client, docs: int) -> dict[str, Any]:
    types = []
    for i in range(3):
        slug = f"bench-type-{i}-{uuid.uuid4().hex[:6]}"
        block_type = http.post("/block_types/", json={"name": f"Bench {slug}", "slug": slug}).raise_for_status().json()
        fields = {**SCHEMA_FIELDS, "title": f"Bench{i}"}
        schema = (
            http.post("/block_schemas/", json={"block_type_id": block_type["id"], "fields": fields})
            .raise_for_status()
            .json()
        )
        types.append((block_type, schema))
    created = []
    for i in range(docs):
        block_type, schema = types[i % len(types)]
        body = {
            "name": f"doc-{i:05d}",
            "block_type_id": block_type["id"],
            "block_schema_id": schema["id"],
            "data": {"user": f"u{i}", "password": "pw"},
        }
        created.append(http.post("/block_documents/", json=body).raise_for_status().json())
    for _ in range(docs // 4):
        block_type, schema = types[0]
        body = {
            "block_type_id": block_type["id"],
            "block_schema_id": schema["id"],
            "data": {"user": "anon"},
            "is_anonymous": True,
        }
        http.post("/block_documents/", json=body).raise_for_status()
    parent_type, parent_schema = types[1]
    parent = (
        http.post(
            "/block_documents/",
            json={
                "name": "parent",
                "block_type_id": parent_type["id"],
                "block_schema_id": parent_schema["id"],
                "data": {"user": "p", "child": {"$ref": {"block_document_id": created[0]["id"]}}},
            },
        )
        .raise_for_status()
        .json()
    )
    return {"types": types, "docs": created, "parent": parent}


def _operations(seed: dict[str, Any]) -> dict[str, tuple[str, str, Any]]:
    doc = seed["docs"][3]
    slug = seed["types"][0][0]["slug"]
    return {
        "load by slug + name (Block.load)": (
            "GET",
            f"/block_types/slug/{doc['block_type']['slug']}/block_documents/name/{doc['name']}?include_secrets=true",
            None,
        ),
        "read by id": ("GET", f"/block_documents/{doc['id']}", None),
        "read parent with nested reference": ("GET", f"/block_documents/{seed['parent']['id']}", None),
        "type by slug": ("GET", f"/block_types/slug/{slug}", None),
        "schema by checksum": ("GET", f"/block_schemas/checksum/{seed['types'][0][1]['checksum']}", None),
        "documents filter, default (limit 50)": ("POST", "/block_documents/filter", {"limit": 50}),
        "documents of a type (filter)": (
            "POST",
            "/block_documents/filter",
            {"block_documents": {"block_type_id": {"any_": [seed["types"][2][0]["id"]]}}},
        ),
        "documents of a slug (GET)": ("GET", f"/block_types/slug/{slug}/block_documents", None),
        "documents count": ("POST", "/block_documents/count", {}),
        "block types filter": ("POST", "/block_types/filter", {}),
        "capabilities": ("GET", "/block_capabilities/", None),
    }


def _returned(body: Any) -> int:
    return len(body) if isinstance(body, list) else 1


def _items_read(route: dict[str, Any]) -> int:
    return int(route.get("query_scanned", 0)) + int(route.get("items_got", 0))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    srv = start_serverflow()
    counters = srv.extra["counters_url"]
    try:
        with httpx.Client(base_url=srv.api_url, timeout=120) as http:
            started = time.perf_counter()
            http.get("/block_types/slug/secret").raise_for_status()
            first_s = time.perf_counter() - started
            seed = _seed(http, args.docs)
            results: dict[str, Any] = {"first_request_s": round(first_s, 3), "docs": args.docs, "operations": {}}
            for label, (method, path, body) in _operations(seed).items():
                httpx.post(f"{counters}/reset").raise_for_status()
                returned = 0
                t0 = time.perf_counter()
                for _ in range(args.repeat):
                    response = http.request(method, path, json=body)
                    response.raise_for_status()
                    returned += _returned(response.json())
                seconds = time.perf_counter() - t0
                routes = httpx.get(f"{counters}/counters").json()["routes"]
                calls = sum(r["ddb_calls"] for r in routes.values())
                ops: dict[str, int] = {}
                for r in routes.values():
                    for op, n in r["ops"].items():
                        ops[op] = ops.get(op, 0) + n
                scanned = sum(r["query_scanned"] for r in routes.values())
                results["operations"][label] = {
                    "ddb_calls_per_request": round(calls / args.repeat, 2),
                    "ops_per_request": {op: round(n / args.repeat, 2) for op, n in sorted(ops.items())},
                    "query_items_read_per_request": round(scanned / args.repeat, 1),
                    "api_items_returned_per_request": round(returned / args.repeat, 1),
                    "ms_per_request": round(1000 * seconds / args.repeat, 1),
                }
    finally:
        srv.stop()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "blocks-latest.json").write_text(json.dumps(results, indent=1))
    print(f"first block request on a fresh table (system block registration included): {results['first_request_s']} s")
    print(f"{'operation':42} {'ddb calls':>9} {'query items read':>16} {'API items':>9} {'ms':>7}  ops")
    for label, r in results["operations"].items():
        print(
            f"{label:42} {r['ddb_calls_per_request']:>9} {r['query_items_read_per_request']:>16} {r['api_items_returned_per_request']:>9} {r['ms_per_request']:>7}  {r['ops_per_request']}"
        )
    return results


if __name__ == "__main__":
    main()
