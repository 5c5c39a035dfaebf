"""/flow_run_states routes (Prefect 3.9.1 `server/api/flow_run_states.py` compatible)."""

from __future__ import annotations

from uuid import UUID

from fastapi import Path

from shared.api.routing import ServerflowRouter
from shared.schemas.states import State
from shared.storage import flow_run_states as state_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/flow_run_states", tags=["Flow Run States"])


@router.get("/{id:uuid}")
def read_flow_run_state(flow_run_state_id: UUID = Path(..., alias="id")) -> State:
    """Get a flow run state by id.

    For more information, see https://www.prefect.io/docs/v3/concepts/flows#final-state-determination.
    """
    state = state_store.read(flow_run_state_id)
    if state is None:
        raise ObjectNotFound("Flow run state not found")
    return state


@router.get("/")
def read_flow_run_states(flow_run_id: UUID) -> list[State]:
    """Get states associated with a flow run."""
    # An unknown run simply has no states (the reference answers [] too).
    return state_store.history(flow_run_id)
