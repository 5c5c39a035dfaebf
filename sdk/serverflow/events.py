"""``emit_event``: custom events in Prefect's event schema, visible in ``/events/filter``, the event feed and
to automations.

    from serverflow.events import emit_event
    emit_event("acme.order.shipped", resource={"prefect.resource.id": "acme.order.42"}, payload={"items": 3})

Inside a flow run the event joins the run's event batch (posted with its task-run events, and related to the
flow run); outside, it is posted at once to ``POST /events``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import _time
from ._api import api_client
from ._ids import uuid7
from .context import get_flow_run_context

RESOURCE_ID = "prefect.resource.id"


def emit_event(
    event: str,
    resource: dict[str, str],
    occurred: datetime | None = None,
    related: list[dict[str, str]] | None = None,
    payload: dict[str, Any] | None = None,
    id: str | None = None,
    follows: str | None = None,
) -> dict[str, Any]:
    """Send one event; returns it as sent (its ``id`` can be given as ``follows`` to a later event)."""
    if not event:
        raise ValueError("an event needs a name")
    if not isinstance(resource, dict) or not resource.get(RESOURCE_ID):
        raise ValueError(f"resource needs a {RESOURCE_ID!r}")
    related_list = [dict(item) for item in related or []]
    ctx = get_flow_run_context()
    if ctx is not None and not any(r.get("prefect.resource.role") == "flow-run" for r in related_list):
        related_list.append(
            {
                RESOURCE_ID: f"prefect.flow-run.{ctx.flow_run.id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": ctx.flow_run.name or "",
            }
        )
    body: dict[str, Any] = {
        "id": id or str(uuid7()),
        "occurred": _time.iso(occurred or _time.now()),
        "event": event,
        "resource": dict(resource),
        "related": related_list,
        "payload": dict(payload or {}),
    }
    if follows:
        body["follows"] = follows
    if ctx is not None:
        ctx.events.put(body)
    else:
        with api_client() as client:
            client.emit_events([body])
    return body
