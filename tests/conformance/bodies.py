"""Minimal valid JSON bodies derived from the reference's OpenAPI schemas."""

from __future__ import annotations

from typing import Any

from tests.conformance.routes import OpenApi
from tests.conformance.seed import SAMPLE_ID, Seed

# Body fields that must name a seeded object to be valid on both servers.
SEEDED_FIELDS = {
    "flow_id": "flows:id",
    "flow_run_id": "flow_runs:id",
    "task_run_id": "task_runs:id",
    "deployment_id": "deployments:id",
    "work_queue_id": "work_queues:id",
    "work_pool_id": "work_pool_id",
    "work_pool_name": "work_pools:name",
    "work_queue_name": "queues:name",
}


class BodyMaker:
    def __init__(self, openapi: OpenApi, seed: Seed) -> None:
        self.openapi = openapi
        self.seed = seed

    def object_schema(self, operation_spec: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON body's object schema, or None when the route takes no JSON object body."""
        content = (operation_spec.get("requestBody") or {}).get("content") or {}
        if "application/json" not in content:
            return None
        schema = self.openapi.schema(content["application/json"].get("schema") or {})
        return schema if schema.get("type") == "object" or "properties" in schema else None

    def required_only(self, schema: dict[str, Any]) -> dict[str, Any]:
        schema = self.openapi.schema(schema)
        return {
            name: self.value(name, prop)
            for name, prop in (schema.get("properties") or {}).items()
            if name in set(schema.get("required") or [])
        }

    def value(self, name: str, schema: dict[str, Any], depth: int = 0) -> Any:
        if name in SEEDED_FIELDS and SEEDED_FIELDS[name] in self.seed.values:
            return self.seed[SEEDED_FIELDS[name]]
        schema = self.openapi.schema(schema)
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants:
            concrete = [v for v in variants if self.openapi.schema(v).get("type") != "null"]
            return self.value(name, concrete[0], depth) if concrete else None
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "string":
            fmt = schema.get("format")
            if fmt == "uuid":
                return SAMPLE_ID
            if fmt == "date-time":
                return self.seed["now"]
            return "conformance"
        if kind == "integer":
            return max(1, int(schema.get("minimum", 1)))
        if kind == "number":
            return float(max(1, schema.get("minimum", 1)))
        if kind == "boolean":
            return False
        if kind == "array":
            return []
        if depth > 4:
            return {}
        return {
            prop_name: self.value(prop_name, prop, depth + 1)
            for prop_name, prop in (schema.get("properties") or {}).items()
            if prop_name in set(schema.get("required") or [])
        }
