"""Flow run input routes under /flow_runs (Prefect 3.9.1 `server/api/flow_runs.py`), adopted by
shared.api.flow_runs: keyed values a paused run waits for (`pause_flow_run(wait_for_input=...)`)
and the messages of `send_input` / `receive_input`."""

from __future__ import annotations

from uuid import UUID

from fastapi import Body, Path, status
from fastapi.responses import PlainTextResponse

from shared.api.routing import ServerflowRouter
from shared.schemas.flow_run_input import FlowRunInput, InputKey
from shared.storage import flow_run_input as input_store
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/flow_runs", tags=["Flow Runs"])


@router.post(
    "/{id:uuid}/input",
    status_code=status.HTTP_201_CREATED,
    description="Create a key/value input for a flow run (409 when the key exists, 404 without the run).",
)
def create_flow_run_input(
    flow_run_id: UUID = Path(..., alias="id", description="The flow run id"),
    key: InputKey = Body(..., description="The input key"),
    value: str = Body(..., description="The value of the input"),
    sender: str | None = Body(None, description="The sender of the input"),
) -> None:
    input_store.create(input_store.build(flow_run_id, key, value, sender))


@router.post("/{id:uuid}/input/filter", description="Filter flow run inputs by key prefix, oldest first.")
def filter_flow_run_input(
    flow_run_id: UUID = Path(..., alias="id", description="The flow run id"),
    prefix: str = Body(..., embed=True, description="The input key prefix"),
    limit: int = Body(1, embed=True, description="The maximum number of results to return"),
    exclude_keys: list[str] = Body([], embed=True, description="Exclude inputs with these keys"),
) -> list[FlowRunInput]:
    return input_store.filter_by_prefix(flow_run_id, prefix, limit, exclude_keys)


@router.get(
    "/{id:uuid}/input/{key}",
    response_class=PlainTextResponse,
    description="Read the value of a flow run input, as stored (plain text).",
)
def read_flow_run_input(
    flow_run_id: UUID = Path(..., alias="id", description="The flow run id"),
    key: str = Path(..., description="The input key"),
) -> PlainTextResponse:
    found = input_store.read(flow_run_id, key)
    if found is None:
        raise ObjectNotFound(input_store.NOT_FOUND)
    return PlainTextResponse(found.value)


@router.delete("/{id:uuid}/input/{key}", status_code=status.HTTP_204_NO_CONTENT, description="Delete a flow run input.")
def delete_flow_run_input(
    flow_run_id: UUID = Path(..., alias="id", description="The flow run id"),
    key: str = Path(..., description="The input key"),
) -> None:
    input_store.delete(flow_run_id, key)
