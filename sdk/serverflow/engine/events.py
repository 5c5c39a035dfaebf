"""Task-run state events, shaped exactly like prefect 3.9.1's ``prefect.task-run.<State>`` events.

The server's task-run recorder consumes events whose resource carries ``prefect.orchestration: client`` and
builds task runs and their states from the payload ``{intended, initial_state, validated_state, task_run}`` and
the ``flow-run`` related resource. We send them over ``POST /api/events`` in batches instead of a websocket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import _time

if TYPE_CHECKING:
    from ..states import State
    from .task_run import TaskRunRecord

MESSAGE_LIMIT = 100_000


def _truncate(message: str | None) -> str:
    if not message:
        return ""
    return message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 3] + "..."


def _details(state: State[Any]) -> dict[str, Any]:
    return {k: v for k, v in state.state_details.items() if v is not None and k not in ("flow_run_id", "task_run_id")}


def task_run_state_event(
    record: TaskRunRecord, initial: State[Any] | None, validated: State[Any], follows: str | None
) -> dict[str, Any]:
    related: list[dict[str, str]] = []
    if record.flow_run_id is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow-run.{record.flow_run_id}",
                "prefect.resource.role": "flow-run",
                "prefect.resource.name": record.flow_run_name or "",
            }
        )
    if record.flow_id is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.flow.{record.flow_id}",
                "prefect.resource.role": "flow",
                "prefect.resource.name": record.flow_name or "",
            }
        )
    if record.deployment_id is not None:
        related.append(
            {
                "prefect.resource.id": f"prefect.deployment.{record.deployment_id}",
                "prefect.resource.role": "deployment",
                "prefect.resource.name": record.deployment_name or "",
            }
        )
    related.extend(
        {"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"} for tag in sorted(record.tags)
    )
    message = _truncate(validated.message)
    event: dict[str, Any] = {
        "id": str(validated.id),
        "occurred": _time.iso(validated.timestamp),
        "event": f"prefect.task-run.{validated.name}",
        "resource": {
            "prefect.resource.id": f"prefect.task-run.{record.id}",
            "prefect.resource.name": record.name,
            "prefect.run-count": str(record.run_count),
            "prefect.state-message": message,
            "prefect.state-name": validated.name or "",
            "prefect.state-timestamp": validated.timestamp.isoformat(),
            "prefect.state-type": validated.type.value,
            "prefect.orchestration": "client",
        },
        "related": related,
        "payload": {
            "intended": {
                "from": initial.type.value if initial else None,
                "to": validated.type.value,
            },
            "initial_state": (
                {
                    "type": initial.type.value,
                    "name": initial.name,
                    "message": _truncate(initial.message),
                    "state_details": _details(initial),
                }
                if initial
                else None
            ),
            "validated_state": {
                "type": validated.type.value,
                "name": validated.name,
                "message": message,
                "state_details": _details(validated),
                "data": validated.data,
            },
            "task_run": record.payload(),
        },
    }
    if follows:
        event["follows"] = follows
    return event
