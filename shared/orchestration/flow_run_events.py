"""The `prefect.flow-run.<State>` event the server emits for every orchestrated transition.

Pure: builds the event the reference emits (same name, resource labels and payload; the
new state's id is the event id, so replays are idempotent). Storage writes it in the
same transaction as the state, so an event exists exactly when its state does.
"""

from __future__ import annotations

import datetime
from typing import Any

from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.flow_runs import FlowRun
from shared.schemas.states import State, StateType

STATE_MESSAGE_LIMIT = 100_000
# Link to the previous event only when it is recent: ordering is otherwise unambiguous.
TIGHT_TIMING = datetime.timedelta(minutes=5)


def state_payload(state: State | None) -> dict[str, str] | None:
    if state is None:
        return None
    payload = {"type": state.type.value}
    if state.name:
        payload["name"] = state.name
    if state.message:
        payload["message"] = state.message[:STATE_MESSAGE_LIMIT]
    if state.type == StateType.PAUSED:
        payload["pause_reschedule"] = str(state.state_details.pause_reschedule).lower()
    return payload


def related_resources(run: FlowRun) -> list[dict[str, str]]:
    related = [{"prefect.resource.id": f"prefect.flow.{run.flow_id}", "prefect.resource.role": "flow"}]
    if run.deployment_id:
        related.append(
            {"prefect.resource.id": f"prefect.deployment.{run.deployment_id}", "prefect.resource.role": "deployment"}
        )
    if run.work_queue_id:
        queue = {
            "prefect.resource.id": f"prefect.work-queue.{run.work_queue_id}",
            "prefect.resource.role": "work-queue",
        }
        if run.work_queue_name:
            queue["prefect.resource.name"] = run.work_queue_name
        related.append(queue)
    if run.work_pool_id:
        pool = {"prefect.resource.id": f"prefect.work-pool.{run.work_pool_id}", "prefect.resource.role": "work-pool"}
        if run.work_pool_name:
            pool["prefect.resource.name"] = run.work_pool_name
        related.append(pool)
    related.extend(
        {"prefect.resource.id": f"prefect.tag.{tag}", "prefect.resource.role": "tag"} for tag in sorted(set(run.tags))
    )
    return related


def flow_run_state_change_event(run: FlowRun, initial: State | None, validated: State) -> ReceivedEvent:
    """`run` is the run after the transition; `initial` its state before."""
    occurred = validated.timestamp
    follows = None
    if initial is not None and abs(occurred - initial.timestamp) < TIGHT_TIMING:
        follows = initial.id
    resource: dict[str, Any] = {
        "prefect.resource.id": f"prefect.flow-run.{run.id}",
        "prefect.resource.name": run.name,
        "prefect.run-count": str(run.run_count),
        "prefect.state-message": (validated.message or "")[:STATE_MESSAGE_LIMIT],
        "prefect.state-name": validated.name or "",
        "prefect.state-timestamp": validated.timestamp.isoformat(),
        "prefect.state-type": validated.type.value,
    }
    event = Event.model_validate(
        {
            "occurred": occurred,
            "event": f"prefect.flow-run.{validated.name}",
            "resource": resource,
            "related": related_resources(run),
            "payload": {
                "intended": {"from": initial.type.value if initial else None, "to": validated.type.value},
                "initial_state": state_payload(initial),
                "validated_state": state_payload(validated),
            },
            "id": validated.id,
            "follows": follows,
        }
    )
    return event.receive()
