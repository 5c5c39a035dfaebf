"""The `prefect.block-document.*` and `prefect.block-type.*` lifecycle events the reference emits.

Pure: builds the events (same names, resources and payloads as prefect 3.9.1's lifecycle
events); storage writes each in the same transaction as the change it reports. Anonymous
documents emit nothing, as in the reference, and no secret value is ever put in a payload.
"""

from __future__ import annotations

import datetime
from typing import Any

from shared.schemas.blocks import BlockDocument, BlockType
from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.types import uuid7


def _event(
    kind: str, action: str, resource_id: str, name: str | None, payload: dict[str, Any], related: list[dict[str, str]]
) -> ReceivedEvent:
    resource = {"prefect.resource.id": resource_id}
    if name is not None:
        resource["prefect.resource.name"] = name
    event = Event.model_validate(
        {
            "occurred": datetime.datetime.now(datetime.UTC),
            "event": f"prefect.{kind}.{action}",
            "resource": resource,
            "related": related,
            "payload": payload,
            "id": uuid7(),
        }
    )
    return event.receive()


def block_document_event(action: str, document: BlockDocument) -> ReceivedEvent | None:
    """`action` is created / updated / deleted; `document` as a masked read returns it."""
    if document.is_anonymous:
        return None
    schema = document.block_schema
    secret_keys = set(schema.fields.get("secret_fields") or []) if schema is not None else set()
    payload: dict[str, Any] = {
        "name": document.name,
        # Only top-level plain strings that are not secrets, as the reference.
        "data": {k: v for k, v in document.data.items() if k not in secret_keys and isinstance(v, str)},
        "block_schema": None
        if schema is None
        else {
            "capabilities": schema.capabilities,
            "block_type": {"id": str(document.block_type_id), "name": document.block_type_name or ""},
        },
    }
    block_type_ref = {
        "prefect.resource.id": f"prefect.block-type.{document.block_type_id}",
        "prefect.resource.role": "block-type",
    }
    if document.block_type_name:
        block_type_ref["prefect.resource.name"] = document.block_type_name
    related = [
        block_type_ref,
        {
            "prefect.resource.id": f"prefect.block-schema.{document.block_schema_id}",
            "prefect.resource.role": "block-schema",
        },
    ]
    return _event("block-document", action, f"prefect.block-document.{document.id}", document.name, payload, related)


def block_type_event(action: str, block_type: BlockType) -> ReceivedEvent:
    payload = block_type.model_dump(
        mode="json",
        include={"name", "slug", "logo_url", "documentation_url", "description", "code_example", "is_protected"},
    )
    return _event("block-type", action, f"prefect.block-type.{block_type.id}", block_type.name, payload, [])
