"""Each optional body field of each served route, sent as an explicit null alone (required fields
filled with minimal valid values), answers the same status on Serverflow as on the reference."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conformance import retrying
from tests.conformance.bodies import BodyMaker
from tests.conformance.report import REPORT
from tests.conformance.routes import OpenApi, Operation, served_routes
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


def test_an_optional_body_field_sent_as_null_answers_like_the_reference(
    reference_openapi: OpenApi, our_openapi: OpenApi, reference_url: str, api_url: str, seeds: tuple[Seed, Seed]
) -> None:
    reference_seed, our_seed = seeds
    served = served_routes(reference_openapi, our_openapi)
    makers = BodyMaker(reference_openapi, reference_seed), BodyMaker(reference_openapi, our_seed)
    mismatches: list[str] = []
    pairs = 0
    with (
        httpx.Client(base_url=reference_url, timeout=60) as reference_http,
        httpx.Client(base_url=api_url, timeout=60) as our_http,
        ThreadPoolExecutor(max_workers=2) as pool,
    ):
        for op in reference_openapi.operations:
            schema = makers[0].object_schema(op.spec)
            if op.route not in served or schema is None:
                continue
            required = set(schema.get("required") or [])
            for field in [name for name in (schema.get("properties") or {}) if name not in required]:
                if deletes_everything(op, field):
                    REPORT.count(SECTION, op.domain, matched=False, skipped=True)
                    continue
                sides = []
                for maker, http, seed in ((makers[0], reference_http, reference_seed), (makers[1], our_http, our_seed)):
                    if op.method in {"PATCH", "PUT"}:
                        seed = with_fresh_target(str(http.base_url), seed, op.path)
                        maker = BodyMaker(reference_openapi, seed)
                    body = null_body(maker, op, schema, field)
                    path = seed.fill_path(op.path).removeprefix("/api")
                    sides.append(pool.submit(send, http, op.method, path, body))
                (reference_status, reference_text), (our_status, our_text) = (side.result() for side in sides)
                pairs += 1
                if reference_failed(reference_status, reference_text):
                    same = isinstance(our_status, int) and our_status < 500
                    REPORT.note(SECTION, f"reference failed, serverflow {our_status}: {op.method} {op.path} {{{field!r}: null}}")
                else:
                    same = reference_status == our_status
                REPORT.count(SECTION, op.domain, matched=same)
                if not same:
                    mismatches.append(
                        f"{op.method} {op.path} {{{field!r}: null}}: reference {reference_status} {reference_text[:150]}, "
                        f"serverflow {our_status} {our_text[:300]}"
                    )
    assert pairs > 50, f"only {pairs} (route, field) pairs found: is the reference's OpenAPI read right?"
    assert not mismatches, f"{len(mismatches)} of {pairs} pairs differ:\n" + "\n".join(mismatches)
