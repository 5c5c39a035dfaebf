"""The reference's routes (its OpenAPI), Serverflow's served routes, and docs/compatibility.md's
list of routes deliberately not served yet.

A route is (METHOD, /api/path) with every path parameter written `{}` so that `{id}` and
`{flow_run_id}` compare equal. Domains are the reference's OpenAPI tags ("Flow Runs", "UI", ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from infra.template import http_routes

REPO = Path(__file__).resolve().parents[2]
COMPATIBILITY_DOC = REPO / "docs" / "compatibility.md"
NOT_SERVED_HEADING = "## Routes not served yet"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# One line per route: - `METHOD /api/path` — #ISSUE reason
NOT_SERVED_LINE = re.compile(r"^- `(?P<method>[A-Z]+) (?P<path>/api/\S*)` — #(?P<issue>\d+) (?P<reason>\S.*)$")

Route = tuple[str, str]


def normalize(path: str) -> str:
    """The route's path under /api (the reference's OpenAPI omits the prefix, ours has it), params as {}."""
    path = "/api" + path.removeprefix("/api") if path.startswith("/") else path
    return re.sub(r"\{[^}]+\}", "{}", path)


def route_pattern(template: str) -> re.Pattern[str]:
    escaped = re.escape(normalize(template)).replace(r"\{\}", "[^/]+")
    return re.compile(escaped + "/?")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # under /api, parameters named as that server names them
    domain: str
    spec: dict[str, Any]

    @property
    def route(self) -> Route:
        return (self.method, normalize(self.path))


class OpenApi:
    """One server's /api/openapi.json."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @cached_property
    def operations(self) -> list[Operation]:
        found = []
        for path, item in self.document["paths"].items():
            for method in HTTP_METHODS:
                if method in item:
                    tags = item[method].get("tags") or ["Root"]
                    full = "/api" + path.removeprefix("/api")
                    found.append(Operation(method.upper(), full, tags[0], item[method]))
        return found

    @cached_property
    def routes(self) -> set[Route]:
        return {op.route for op in self.operations}

    def resolve(self, ref: str) -> dict[str, Any]:
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow $ref (and a lone allOf wrapper) to the schema itself."""
        while True:
            if "$ref" in schema:
                schema = self.resolve(schema["$ref"])
            elif len(schema.get("allOf") or []) == 1:
                schema = schema["allOf"][0]
            else:
                return schema

    def match(self, method: str, concrete_path: str) -> Operation | None:
        """The operation a request would hit, preferring literal segments over parameters."""
        candidates = [
            op for op in self.operations if op.method == method and route_pattern(op.path).fullmatch(concrete_path)
        ]
        return min(candidates, key=lambda op: op.path.count("{"), default=None)


def template_routes_request(method: str, path: str) -> bool:
    """Whether template.yaml's HTTP API routes this request at all (what API Gateway would do)."""
    sample = re.sub(r"\{[^}]+\}", "x0", path)
    return any(r.matches(sample) and r.method.upper() in {method, "ANY"} for r in http_routes())


def served_routes(reference: OpenApi, ours: OpenApi) -> set[Route]:
    """Reference routes Serverflow's app declares and template.yaml routes to a function."""
    return {
        op.route
        for op in reference.operations
        if op.route in ours.routes and template_routes_request(op.method, op.path)
    }


@dataclass(frozen=True)
class NotServed:
    route: Route
    domain: str
    issue: int
    reason: str


def not_served_list(doc: Path = COMPATIBILITY_DOC) -> list[NotServed]:
    """docs/compatibility.md's "Routes not served yet" section: ### <domain> headings, one route a line."""
    entries: list[NotServed] = []
    in_section = False
    domain = ""
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("## "):
            in_section = line.strip() == NOT_SERVED_HEADING
            continue
        if not in_section:
            continue
        if line.startswith("### "):
            domain = line[4:].strip()
        elif line.startswith("- "):
            parsed = NOT_SERVED_LINE.match(line.strip())
            if parsed is None:
                raise ValueError(f"{doc}:{number}: not '- `METHOD /api/path` — #ISSUE reason': {line!r}")
            entries.append(
                NotServed((parsed["method"], normalize(parsed["path"])), domain, int(parsed["issue"]), parsed["reason"])
            )
    return entries
