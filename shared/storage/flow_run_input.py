"""Flow run inputs in the table: in their run's partition, so deleting a run deletes them.

Item: PK=FLOW_RUN#<flow_run_id>, SK=INPUT#<key>, body = FlowRunInput JSON.

Access patterns:
- one input ............... PK=FLOW_RUN#<run>, SK=INPUT#<key> (GetItem)
- inputs by key prefix .... PK=FLOW_RUN#<run>, begins_with(SK, "INPUT#<prefix>") (one Query; sorted by
                            `created` in memory, as the reference orders them)
- create .................. put_new of the input + a condition check that the run item exists,
                            in one transaction ((run, key) is unique, the run must exist)
- delete with the run ..... the run's partition delete (storage.flow_runs) takes them along
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from shared.orchestration import OrchestrationOutcome
from shared.schemas._jsonschema_tools import SchemaValidationError, validate_value
from shared.schemas.base import now_utc
from shared.schemas.flow_run_input import FlowRunInput
from shared.schemas.flow_runs import FlowRun
from shared.schemas.hydration import HydrationError, hydrate
from shared.schemas.responses import SetStateStatus
from shared.storage import store
from shared.storage import variables as variable_store
from shared.storage.errors import ConcurrentUpdate, ItemTooLarge, ObjectAlreadyExists, ObjectNotFound
from shared.storage.flow_run_states import run_key
from shared.storage.table import TableItem

ENTITY = "flow_run_input"
PREFIX = "INPUT#"
NOT_FOUND = "Flow run input not found"
# Room under DynamoDB's 409,600-byte item limit for keys and attributes.
MAX_INPUT_ITEM_BYTES = 390_000


class FlowRunMissing(ObjectNotFound):
    """The input's flow run does not exist (HTTP 404 "Flow run not found")."""


def to_item(flow_run_input: FlowRunInput) -> TableItem:
    """The stored item; resume writes it in the same transaction as the run's new state."""
    body = flow_run_input.model_dump_json()
    if len(body.encode("utf-8")) > MAX_INPUT_ITEM_BYTES:
        raise ItemTooLarge(f"Flow run input exceeds the maximum size of {MAX_INPUT_ITEM_BYTES} bytes.")
    return TableItem(run_key(flow_run_input.flow_run_id), f"{PREFIX}{flow_run_input.key}", entity=ENTITY, body=body)


def build(flow_run_id: UUID, input_key: str, value: str, sender: str | None = None) -> FlowRunInput:
    stamp = now_utc()
    return FlowRunInput(
        flow_run_id=flow_run_id, key=input_key, value=value, sender=sender, created=stamp, updated=stamp
    )


def create(flow_run_input: FlowRunInput) -> None:
    batch = store.WriteBatch().put_new(to_item(flow_run_input))
    batch.checks.append((TableItem(run_key(flow_run_input.flow_run_id), store.META), TableItem.PK.exists()))
    try:
        store.transact(batch, on_conflict=ObjectAlreadyExists)
    except ObjectAlreadyExists:
        if store.get(run_key(flow_run_input.flow_run_id)) is None:
            raise FlowRunMissing("Flow run not found") from None
        raise ObjectAlreadyExists("A flow run input with this key already exists.") from None


def read(flow_run_id: UUID, input_key: str) -> FlowRunInput | None:
    item = store.get(run_key(flow_run_id), f"{PREFIX}{input_key}")
    return FlowRunInput.model_validate_json(item.body) if item is not None and item.body else None


def filter_by_prefix(flow_run_id: UUID, prefix: str, limit: int, exclude_keys: list[str]) -> list[FlowRunInput]:
    """Inputs whose key starts with `prefix`, oldest first, without `exclude_keys`."""
    if limit <= 0:
        return []
    excluded = set(exclude_keys)
    found = [
        FlowRunInput.model_validate_json(item.body)
        for item in store.query(run_key(flow_run_id), sk_prefix=f"{PREFIX}{prefix}")
        if item.body
    ]
    found = [i for i in found if i.key not in excluded]
    found.sort(key=lambda i: (i.created is None, i.created, i.id))
    return found[:limit]


def delete(flow_run_id: UUID, input_key: str) -> None:
    try:
        store.delete(TableItem(run_key(flow_run_id), f"{PREFIX}{input_key}"), TableItem.PK.exists())
    except ConcurrentUpdate:
        raise ObjectNotFound(NOT_FOUND) from None


# --- resume with input ------------------------------------------------------------------


def _keyset(run: FlowRun) -> dict[str, str] | None:
    return run.state.state_details.run_input_keyset if run.state is not None else None


def _variable(name: str) -> tuple[bool, Any]:
    variable = variable_store.read_by_name(name)
    return (True, variable.value) if variable is not None else (False, None)


def run_input_error(run: FlowRun, run_input: dict[str, Any]) -> str | None:
    """Why `run_input` cannot resume this paused run (the reference's REJECT reasons), or None.

    A pause that asked for input stored its JSON schema under `keyset["schema"]`. The input is
    validated as hydrated (`hydrated_input`)."""
    keyset = _keyset(run)
    if not keyset:
        return None
    try:
        run_input = hydrated_input(run_input)
    except HydrationError as exc:
        return f"Error hydrating run input: {exc}"
    stored = read(run.id, keyset.get("schema", ""))
    if stored is None:
        return "Run input schema not found."
    try:
        schema = json.loads(stored.value)
    except ValueError:
        return "Run input schema is not valid JSON."
    if not isinstance(schema, dict):
        return "Run input schema is not valid JSON."
    try:
        validate_value(run_input, schema, preprocess=True)
    except SchemaValidationError as exc:
        if "circular schema reference" in str(exc):
            return "Invalid schema: Unable to validate schema with circular references."
        return f"Reason: {exc}"
    return None


def hydrated_input(run_input: dict[str, Any]) -> dict[str, Any]:
    """The input with UI placeholders resolved (workspace variables read by name, one at a time)."""
    return hydrate(run_input, _variable) or {}


def resume_checks(
    run_id: UUID, run_input: dict[str, Any] | None
) -> tuple[Callable[[FlowRun], str | None], Callable[[FlowRun, OrchestrationOutcome[FlowRun]], list[TableItem]]]:
    """POST /flow_runs/{id}/resume's input side, for `flow_runs.resume`: how to validate the input
    against the paused run's schema, and the items storing it under `keyset["response"]` in the
    same transaction as the accepted new state."""
    given = run_input or {}

    def response_items(paused: FlowRun, outcome: OrchestrationOutcome[FlowRun]) -> list[TableItem]:
        keyset = _keyset(paused)
        if not keyset or outcome.status != SetStateStatus.ACCEPT:
            return []
        hydrated = hydrated_input(given)  # valid: the decision checked it
        return [to_item(build(run_id, keyset["response"], json.dumps(hydrated)))] if hydrated else []

    return (lambda run: run_input_error(run, given)), response_items
