"""Each optional body field of each served route, sent as an explicit null alone (required fields
filled with minimal valid values), answers the same status on Serverflow as on the reference."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conformance import retrying
from tests.conformance.bodies import BodyMaker
from tests.conformance.report import REPORT
from tests.conformance.routes import OpenApi, Operation, Route
from tests.conformance.seed import SAMPLE_ID, Seed, seed_server, with_fresh_target

SECTION = "Explicit nulls: (route, optional body field) pairs with the reference's status"


# A filter no object matches. A bulk delete's filter set to null means "everything": that is never
# sent (the stack is shared with the rest of the session); its other fields are sent with this filter.
MATCHES_NOTHING = {"id": {"any_": [SAMPLE_ID]}}


def reference_failed(status: int | str, text: str) -> bool:
    """The reference crashed on the null (a 500, a dropped connection, or its database refusing a NULL
    in a NOT NULL column, answered as 409 "Data integrity conflict"): there is no behaviour to copy,
    and Serverflow only has to answer without failing itself (documented in docs/compatibility.md)."""
    return isinstance(status, str) or status >= 500 or (status == 409 and "Data integrity conflict" in text)


def deletes_everything(op: Operation, field: str) -> bool:
    return op.path.endswith("/bulk_delete") and field != "limit"


def null_body(maker: BodyMaker, op: Operation, schema: dict[str, Any], field: str) -> dict[str, Any]:
    body = maker.required_only(schema)
    if op.path.endswith("/bulk_delete"):
        body.update({name: MATCHES_NOTHING for name in schema.get("properties") or {} if name != "limit"})
    return {**body, field: None}


def send(http: httpx.Client, method: str, path: str, body: dict[str, Any]) -> tuple[int | str, str]:
    """(status, text); a connection still dropped after the retries is an outcome too."""
    try:
        response = retrying.request(http, method, path, body)
    except httpx.TransportError as exc:
        return type(exc).__name__, str(exc)
    return response.status_code, response.text


@pytest.fixture(scope="module")
def seeds(reference_url: str, api_url: str) -> tuple[Seed, Seed]:
    return seed_server(reference_url, "ref"), seed_server(api_url, "ours")


@dataclass
class Side:
    api_url: str
    seed: Seed


@dataclass
class Pair:
    op: Operation
    field: str
    reference: tuple[int | str, str]
    serverflow: tuple[int | str, str]


def answer(openapi: OpenApi, side: Side, op: Operation, schema: dict[str, Any], field: str) -> tuple[int | str, str]:
    seed = side.seed
    if op.method in {"PATCH", "PUT"} or op.path.endswith("/set_state"):
        # Its own target object: a change one request made (a field set to null, a new state)
        # must not change the next request's answer.
        seed = with_fresh_target(side.api_url, seed, op.path)
    body = null_body(BodyMaker(openapi, seed), op, schema, field)
    with httpx.Client(base_url=side.api_url, timeout=60) as http:
        return send(http, op.method, seed.fill_path(op.path).removeprefix("/api"), body)


def route_pairs(openapi: OpenApi, sides: tuple[Side, Side], op: Operation, schema: dict[str, Any]) -> list[Pair]:
    """One route's pairs, in order (a create with fixed names answers 201 then 409 on both servers)."""
    required = set(schema.get("required") or [])
    pairs = []
    for field in [name for name in (schema.get("properties") or {}) if name not in required]:
        if deletes_everything(op, field):
            REPORT.count(SECTION, op.domain, matched=False, skipped=True)
            continue
        pairs.append(Pair(op, field, *(answer(openapi, side, op, schema, field) for side in sides)))
    return pairs


@pytest.mark.timeout(900)  # ~600 requests a side; a loaded CI box answers slowly, never forever
def test_an_optional_body_field_sent_as_null_answers_like_the_reference(
    reference_openapi: OpenApi, served: set[Route], reference_url: str, api_url: str, seeds: tuple[Seed, Seed]
) -> None:
    sides = Side(reference_url, seeds[0]), Side(api_url, seeds[1])
    maker = BodyMaker(reference_openapi, seeds[0])
    routes = [
        (op, schema)
        for op in reference_openapi.operations
        if op.route in served and (schema := maker.object_schema(op.spec)) is not None
    ]
    # Routes run side by side (each server takes a few requests at once); a route's pairs in order.
    with ThreadPoolExecutor(max_workers=4) as pool:
        pairs = [
            pair
            for found in pool.map(lambda route: route_pairs(reference_openapi, sides, *route), routes)
            for pair in found
        ]
    mismatches = []
    for pair in pairs:
        (reference_status, reference_text), (our_status, our_text) = pair.reference, pair.serverflow
        where = f"{pair.op.method} {pair.op.path} {{{pair.field!r}: null}}"
        if reference_failed(reference_status, reference_text):
            same = isinstance(our_status, int) and our_status < 500
            REPORT.note(SECTION, f"reference failed, serverflow {our_status}: {where}")
        else:
            same = reference_status == our_status
        REPORT.count(SECTION, pair.op.domain, matched=same)
        if not same:
            mismatches.append(
                f"{where}: reference {reference_status} {reference_text[:150]}, serverflow {our_status} {our_text[:300]}"
            )
    assert len(pairs) > 50, f"only {len(pairs)} (route, field) pairs found: is the reference's OpenAPI read right?"
    assert not mismatches, f"{len(mismatches)} of {len(pairs)} pairs differ:\n" + "\n".join(mismatches)
