"""The null-means-default mechanism: every route has it, and it rewrites bodies as the reference reads them.

The HTTP behaviour (against the stack, on the locked FastAPI) is in tests/api/test_null_means_default.py;
these run in the test env, on whatever FastAPI prefect's pins chose, so together they cover both versions.
"""

from __future__ import annotations

import json

import pytest
from fastapi.routing import APIRoute

from shared.api.null_defaults import BodyShape, NullMeansDefaultRoute, drop_nulls
from shared.api.registry import DOMAIN_ROUTERS, load_router

EMBEDDED = BodyShape(embedded=True, keys=frozenset({"sort", "offset", "flows"}))
SINGLE = BodyShape(embedded=False, keys=frozenset({"flow_run"}))


@pytest.mark.parametrize("domain", sorted(DOMAIN_ROUTERS))
def test_every_route_of_every_domain_reads_null_as_default(domain: str) -> None:
    """A router made with plain APIRouter (not shared.api.routing.ServerflowRouter) would answer 422 to the
    prefect client's explicit nulls: name the offending routes."""
    routes = [route for route in load_router(domain).routes if isinstance(route, APIRoute)]
    assert routes, f"{domain} declares no API route"
    plain = [
        f"{sorted(route.methods)} {route.path}" for route in routes if not isinstance(route, NullMeansDefaultRoute)
    ]
    assert plain == [], f"{domain}: use ServerflowRouter for these routes: {plain}"


def test_null_embedded_parameters_are_dropped_and_the_rest_kept() -> None:
    body = json.dumps({"sort": None, "offset": None, "flows": {"name": None}, "other": None}).encode()
    rewritten = drop_nulls(body, EMBEDDED)
    assert rewritten is not None
    # Only declared parameters go; nulls inside a parameter's value and unknown keys are left to validation.
    assert json.loads(rewritten) == {"flows": {"name": None}, "other": None}


def test_a_body_without_nulls_is_left_as_sent() -> None:
    assert drop_nulls(b'{"sort": "NAME_ASC", "offset": 0}', EMBEDDED) is None
    assert drop_nulls(b"", EMBEDDED) is None
    assert drop_nulls(b"[1, 2]", EMBEDDED) is None
    assert drop_nulls(b"not json", EMBEDDED) is None


def test_a_null_body_is_no_body() -> None:
    assert drop_nulls(b"null", EMBEDDED) == b""
    assert drop_nulls(b"null", SINGLE) == b""


def test_a_single_body_models_fields_are_pydantics_business() -> None:
    assert drop_nulls(b'{"tags": null}', SINGLE) is None
