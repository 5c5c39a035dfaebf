"""GET /api/csrf-token on AWS: template.yaml's CloudFront function (run by node) answers exactly where, and
exactly what, the API itself answers (the local stack's HTTP route), and passes everything else on."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import httpx
import pytest

from infra.template import load_template, resources

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront function")

HARNESS = """
%s
var cases = %s;
console.log(JSON.stringify(cases.map(function (c) { return handler(c); })));
"""

# method, query, headers -> whether the edge answers (the rest must reach the API, which answers otherwise)
CASES: list[tuple[str, dict[str, str], dict[str, str], bool]] = [
    ("GET", {"client": "prefect-client-1"}, {}, True),
    ("GET", {"client": ""}, {"origin": "https://ui.example"}, True),
    ("GET", {"client": "c"}, {"x-prefect-api-version": "0.8.4", "origin": "https://ui.example"}, True),
    ("GET", {}, {}, False),  # FastAPI's own validation error
    ("GET", {"other": "x"}, {"origin": "https://ui.example"}, False),
    ("POST", {"client": "c"}, {}, False),  # 405
    ("GET", {"client": "c"}, {"x-prefect-api-version": "0.7.9"}, False),  # 400: too old
    ("GET", {"client": "c"}, {"x-prefect-api-version": "three"}, False),  # 400: malformed
]
CORS_HEADERS = ("content-type", "access-control-allow-origin", "vary")


def _event(method: str, query: dict[str, str], headers: dict[str, str]) -> dict[str, Any]:
    return {
        "request": {
            "method": method,
            "uri": "/api/csrf-token",
            "querystring": {k: {"value": v} for k, v in query.items()},
            "headers": {k: {"value": v} for k, v in headers.items()},
            "cookies": {},
        }
    }


def _run_function(events: list[dict[str, Any]], allowed_origins: str | None = None) -> list[dict[str, Any]]:
    code = resources("AWS::CloudFront::Function")["CsrfTokenAtEdge"]["Properties"]["FunctionCode"]["Fn::Sub"]
    if allowed_origins is None:
        allowed_origins = load_template()["Parameters"]["CorsAllowedOrigins"]["Default"]
    script = HARNESS % (code.replace("${CorsAllowedOrigins}", allowed_origins), json.dumps(events))
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    answers: list[dict[str, Any]] = json.loads(result.stdout)
    return answers


def test_the_edge_answers_what_the_api_answers_and_passes_the_rest_on(client: httpx.Client) -> None:
    events = [_event(*case[:3]) for case in CASES]
    for (method, query, headers, answered), event, edge in zip(CASES, events, _run_function(events), strict=True):
        api = client.request(method, "/csrf-token", params=query, headers=headers)
        if not answered:
            # Unchanged, to an origin whose answer is not the edge's constant.
            assert edge == event["request"], (method, query, headers)
            assert (api.status_code, api.content) != (422, b'{"detail":"CSRF protection is disabled."}')
            continue
        assert edge["statusCode"] == api.status_code == 422, (query, headers)
        assert edge["body"] == {"encoding": "text", "data": api.text}
        assert api.json() == {"detail": "CSRF protection is disabled."}
        for name in CORS_HEADERS:
            assert edge["headers"].get(name, {}).get("value") == api.headers.get(name), (name, headers)
        assert ("access-control-allow-origin" in edge["headers"]) == ("origin" in headers)


def test_listed_origins_are_mirrored_and_others_get_no_allow_origin() -> None:
    listed, other = "https://a.example", "https://evil.example"
    events = [_event("GET", {"client": "c"}, {"origin": origin}) for origin in (listed, other)]
    mirrored, refused = _run_function(events, allowed_origins=f"https://b.example, {listed}")
    assert mirrored["headers"]["access-control-allow-origin"] == {"value": listed}
    assert "access-control-allow-origin" not in refused["headers"]
    assert mirrored["headers"]["vary"] == refused["headers"]["vary"] == {"value": "Origin"}


def test_the_csrf_behaviour_runs_the_function_before_rest_and_is_otherwise_as_rest() -> None:
    config = resources("AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"]
    patterns = [b["PathPattern"] for b in config["CacheBehaviors"]]
    assert patterns.index("/api/csrf-token") < patterns.index("/api/*")
    behaviours = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    csrf, rest = behaviours["/api/csrf-token"], behaviours["/api/*"]
    assert csrf["FunctionAssociations"] == [
        {
            "EventType": "viewer-request",
            "FunctionARN": {"Fn::GetAtt": ["CsrfTokenAtEdge", "FunctionMetadata.FunctionARN"]},
        }
    ]
    assert {k: v for k, v in csrf.items() if k not in ("PathPattern", "FunctionAssociations")} == {
        k: v for k, v in rest.items() if k != "PathPattern"
    }
