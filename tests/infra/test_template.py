"""template.yaml is the single source of infrastructure: lint it and hold the code to it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from fastapi.routing import APIRoute, APIWebSocketRoute

from infra.template import TEMPLATE_PATH, function_domains, http_domains, http_routes, resources, table_definition
from shared.api.app import route_prefix
from shared.api.registry import DOMAIN_ROUTERS, load_router
from shared.storage.table import INDEXES, TableItem

REPO = Path(__file__).resolve().parents[2]


def test_cfn_lint_passes_on_the_sam_template() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE_PATH)], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_function_handler_module_exists_and_is_thin() -> None:
    for logical_id, domain in function_domains().items():
        handler = REPO / "functions" / domain / "handler.py"
        assert handler.exists(), f"{logical_id} points at missing {handler}"
        code_lines = [
            line
            for line in handler.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", '"""'))
        ]
        assert len(code_lines) <= 25, f"{handler} should only wire a router/event source ({len(code_lines)} lines)"


def test_every_router_domain_has_a_function() -> None:
    assert set(http_domains()) == set(DOMAIN_ROUTERS)


def test_table_indexes_match_the_storage_model() -> None:
    definition = table_definition()
    declared = {index["IndexName"]: index for index in definition["GlobalSecondaryIndexes"]}
    assert set(declared) == set(INDEXES)
    for name, index in declared.items():
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        assert keys == {"HASH": f"{name}PK", "RANGE": f"{name}SK"}
        assert hasattr(TableItem, keys["HASH"]) and hasattr(TableItem, keys["RANGE"])
    assert {k["AttributeName"] for k in definition["KeySchema"]} == {"PK", "SK"}


def _concrete(path: str) -> str:
    # A sample request path for a route template: every {param} becomes one segment.
    return re.sub(r"\{[^}]+\}", "x0", path)


def _specificity(route_path: str) -> tuple[int, int]:
    # API Gateway prefers exact segments over {param} over greedy {proxy+}.
    greedy = route_path.endswith("+}")
    params = route_path.count("{")
    return (0 if greedy else 1, -params)


def test_every_served_route_is_routed_by_the_template_to_its_owning_function() -> None:
    routes = http_routes()
    checked = 0
    for domain in DOMAIN_ROUTERS:
        for route in load_router(domain).routes:
            path = route_prefix(domain) + route.path
            if isinstance(route, APIWebSocketRoute):
                continue  # checked below: websockets go through CloudFront to the WebSocket API
            assert isinstance(route, APIRoute)
            sample = _concrete(path)
            matching = [r for r in routes if r.matches(sample)]
            assert matching, f"{sorted(route.methods)} {path} ({domain}) is not routed by template.yaml"
            best = max(matching, key=lambda r: _specificity(r.path))
            assert best.domain == domain, f"{path} is served by {domain} but routed to {best.function}"
            checked += 1
    assert checked > 20


def test_websocket_routes_share_the_rest_host_through_cloudfront() -> None:
    behaviours = resources("AWS::CloudFront::Distribution")["Distribution"]["Properties"]["DistributionConfig"][
        "CacheBehaviors"
    ]
    socket_paths = {b["PathPattern"] for b in behaviours if b["TargetOriginId"] == "events-socket"}
    for domain in DOMAIN_ROUTERS:
        for route in load_router(domain).routes:
            if isinstance(route, APIWebSocketRoute):
                assert route_prefix(domain) + route.path in socket_paths, (
                    f"websocket {route.path} not routed to the WebSocket API"
                )
