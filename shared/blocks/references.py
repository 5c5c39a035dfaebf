"""References between block documents inside document data.

The client sends a nested block that is itself a saved document as
`{"<field>": {"$ref": {"block_document_id": "<id>"}}}` at the top level of the data; the
reference is stored apart from the data and the nested document's data is put back on read.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID


class InvalidReference(ValueError):
    """A `$ref` without a usable block_document_id (HTTP 400, like the reference)."""


def split_references(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, UUID]]:
    """(data without references, {field: referenced block document id})."""
    plain: dict[str, Any] = {}
    references: dict[str, UUID] = {}
    for key, value in data.items():
        if isinstance(value, dict) and "$ref" in value:
            target = value["$ref"].get("block_document_id") if isinstance(value["$ref"], dict) else None
            if target is None:
                raise InvalidReference(f"Received block reference without a block_document_id in key {key}")
            try:
                references[key] = UUID(str(target))
            except ValueError as exc:
                raise InvalidReference(
                    f"Received block reference with an invalid block_document_id in key {key}"
                ) from exc
        else:
            plain[key] = value
    return plain, references
