"""Turn the client's `prefect.task-run.*` events into task runs and states.

In Prefect 3.9.1 the engine orchestrates task runs client-side and reports every
transition as an event; the server's recorder rebuilds the TaskRun and its State
from it. The mapping here is pure; `ingest` hands the result to storage (task_runs.record_many),
whose conditional writes make the newest state win in any arrival order.
"""

from __future__ import annotations

from typing import Any

from shared.schemas.events import Event
from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun

EVENT_PREFIX = "prefect.task-run"
TASK_RUN_RESOURCE = "prefect.task-run"
FLOW_RUN_RESOURCE = "prefect.flow-run"


def is_recordable(event: Event) -> bool:
    """Only client-orchestrated task-run events describe a task run's state."""
    return event.event.startswith(EVENT_PREFIX) and event.resource.get("prefect.orchestration") == "client"


def task_run_from_event(event: Event) -> tuple[TaskRun, State]:
    """The task run and its new state as the event describes them (ValueError if malformed)."""
    task_run_id = event.resource.prefect_object_id(TASK_RUN_RESOURCE)
    flow_run = event.resource_in_role.get("flow-run")
    flow_run_id = flow_run.prefect_object_id(FLOW_RUN_RESOURCE) if flow_run is not None else None

    validated: dict[str, Any] | None = event.payload.get("validated_state")
    task_run_data: dict[str, Any] | None = event.payload.get("task_run")
    if not isinstance(validated, dict) or not isinstance(task_run_data, dict):
        raise ValueError("task-run event without validated_state/task_run payload")

    # The state's id and timestamp are the event's: replays map to the same state.
    state = State.model_validate({**validated, "id": event.id, "timestamp": event.occurred})
    state.state_details.task_run_id = task_run_id
    state.state_details.flow_run_id = flow_run_id

    run = TaskRun.model_validate(
        {
            **task_run_data,
            "id": task_run_id,
            "flow_run_id": flow_run_id,
            "state_id": state.id,
            "state_type": state.type,
            "state_name": state.name,
            "state": state,
        }
    )
    return run, state
