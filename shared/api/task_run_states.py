"""/task_run_states routes (Prefect 3.9.1 `server/api/task_run_states.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Path

from shared.api.routing import ServerflowRouter
from shared.schemas.states import State
from shared.storage import task_run_states as state_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/task_run_states", tags=["Task Run States"])


@router.get("/{id:uuid}")
def read_task_run_state(task_run_state_id: UUID = Path(..., alias="id")) -> State:
    """Get a task run state by id.

    For more information, see https://www.prefect.io/docs/v3/concepts/tasks.
    """
    state = state_store.read(task_run_state_id)
    if state is None:
        # (sic) the reference says "Flow run state" here too.
        raise ObjectNotFound("Flow run state not found")
    return state


@router.get("/")
def read_task_run_states(task_run_id: UUID) -> list[State]:
    """A task run's states, oldest first."""
    return state_store.read_for_run(task_run_id)
