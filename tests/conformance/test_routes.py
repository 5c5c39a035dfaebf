"""Every route of the reference's OpenAPI is served by Serverflow or listed, with its issue, in
docs/compatibility.md's "Routes not served yet"; and that list names only routes really not served."""

from __future__ import annotations

import re
from collections import Counter

import httpx

from tests.conformance.report import REPORT
from tests.conformance.routes import OpenApi, Route, not_served_list

SECTION = "Routes: served / total, per reference domain (OpenAPI tag)"
SAMPLE_ID = "00000000-0000-4000-8000-000000000000"


def _fmt(route: Route) -> str:
    return f"{route[0]} {route[1]}"


def test_every_reference_route_is_served_or_listed_with_its_issue(
    reference_openapi: OpenApi, served: set[Route]
) -> None:
    listed = not_served_list()
    listed_routes = {entry.route for entry in listed}
    reference_routes = reference_openapi.routes

    for op in reference_openapi.operations:
        REPORT.count(SECTION, op.domain, matched=op.route in served)

    neither = sorted(_fmt(r) for r in reference_routes - served - listed_routes)
    served_but_listed = sorted(_fmt(r) for r in served & listed_routes)
    not_in_reference = sorted(_fmt(r) for r in listed_routes - reference_routes)
    duplicates = sorted(_fmt(r) for r, n in Counter(e.route for e in listed).items() if n > 1)
    REPORT.note(
        SECTION, f"served {len(served)} of {len(reference_routes)} reference routes; {len(listed)} listed as not served"
    )
    assert not neither, "Neither served nor listed in docs/compatibility.md:\n" + "\n".join(neither)
    assert not served_but_listed, "Served, so remove from docs/compatibility.md's list:\n" + "\n".join(
        served_but_listed
    )
    assert not not_in_reference, "Listed but not a reference route:\n" + "\n".join(not_in_reference)
    assert not duplicates, "Listed twice:\n" + "\n".join(duplicates)


def test_not_served_routes_are_grouped_under_their_reference_domain(reference_openapi: OpenApi) -> None:
    domain_of = {op.route: op.domain for op in reference_openapi.operations}
    misplaced = [
        f"{_fmt(e.route)} is under '{e.domain}', the reference's domain is '{domain_of[e.route]}'"
        for e in not_served_list()
        if e.route in domain_of and domain_of[e.route] != e.domain
    ]
    assert not misplaced, "\n".join(misplaced)


def test_served_routes_answer_on_the_stack(reference_openapi: OpenApi, served: set[Route], api_url: str) -> None:
    """Declared is not enough: the running stack must route each served request to a handler (no
    405, no router-level 404 'Not Found'); objects that do not exist may still be a 404 of their own."""
    unrouted = []
    with httpx.Client(base_url=api_url, timeout=30) as http:
        for op in reference_openapi.operations:
            if op.route not in served:
                continue
            path = re.sub(r"\{[^}]+\}", SAMPLE_ID, op.path).removeprefix("/api")
            # A body of the wrong shape: a route that exists answers its 422 before doing anything (an
            # empty filter would make the bulk deletes delete everything on the shared stack).
            body = [] if "requestBody" in op.spec else None
            response = http.request(op.method, path, json=body)
            if response.status_code == 405 or (
                response.status_code == 404 and response.json() == {"detail": "Not Found"}
            ):
                unrouted.append(f"{op.method} {op.path}: {response.status_code} {response.text[:100]}")
    assert not unrouted, "\n".join(unrouted)
