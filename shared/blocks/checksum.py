"""A block schema's identity: the checksum the prefect client computes for the same fields.

The client looks a schema up by the checksum it computed locally
(`GET /block_schemas/checksum/{checksum}`), so ours must agree byte for byte: sha256 over
the sorted-keys JSON of `[[fields], {}]`, with every `secret_fields` key removed and only
the definitions of non-block objects kept (nested blocks are schemas of their own).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def _without_key(value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: _without_key(v, key) for k, v in value.items() if k != key}


def _references(value: Any) -> list[Any]:
    """Every `$ref` value anywhere inside a JSON schema fragment."""
    found: list[Any] = []
    if isinstance(value, dict):
        if ref := value.get("$ref"):
            found.append(ref)
        for item in value.values():
            found.extend(_references(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_references(item))
    return found


def non_block_definitions(fragment: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Definitions reachable from `fragment` that describe plain objects, not blocks."""
    kept: dict[str, Any] = {}
    for ref in _references(fragment):
        if not isinstance(ref, str):
            continue
        name = ref.replace("#/definitions/", "")
        definition = definitions.get(name)
        if definition and definition.get("block_type_slug") is None:
            kept = {**kept, name: definition, **non_block_definitions(definition, definitions)}
    return kept


def schema_checksum(fields: dict[str, Any]) -> str:
    """`sha256:<hex>` identifying a block schema's fields (secret markers excluded)."""
    hashed = _without_key(fields, "secret_fields")
    if hashed.get("definitions"):
        plain = non_block_definitions(hashed, hashed["definitions"])
        if plain:
            hashed["definitions"] = plain
        else:
            hashed.pop("definitions")
    payload = json.dumps([[hashed], {}], sort_keys=True)
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()
