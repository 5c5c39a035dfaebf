"""A flow run's life across repositories: the one place that creates flow runs, proposes their
states and deletes them.

Storage's upper floor: the flow-runs repository writes the run (with its state history and
state event, conditionally); what follows in other repositories happens here, right after:
- a subflow's parent task run mirrors the subflow's state (the reference's
  UpdateSubflowParentTask, done there in the same DB transaction);
- deleting a run deletes its task runs and logs (the reference's FK cascade and queued log
  deletion); deleting a flow deletes its runs, with the same cascade; deleting a task run
  deletes its logs.
Sending a SCHEDULED run to its work pool's queue is the dispatcher's (shared.dispatch.dispatcher),
called by the layer above with what these functions return.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any
from uuid import UUID

from shared.orchestration import OrchestrationOutcome, orchestrate_flow_run
from shared.schemas.common import CreatedBy
from shared.schemas.flow_runs import FlowRun, FlowRunCreate
from shared.schemas.flows import Flow
from shared.schemas.states import State, StateCreate, StateType
from shared.schemas.task_runs import TaskRun
from shared.schemas.types import now_utc
from shared.storage import flow_run_input, flow_runs
from shared.storage import flows as flow_store
from shared.storage import logs as log_store
from shared.storage import task_runs as task_run_store
from shared.storage.errors import ObjectAlreadyExists

logger = logging.getLogger("serverflow.storage.run_lifecycle")


class FlowRunAlreadyExists(ObjectAlreadyExists):
    """A new run's id is taken (and no idempotency key names the run that took it)."""


def create_flow_run(
    create: FlowRunCreate, created_by: CreatedBy | None = None, placement: dict[str, Any] | None = None
) -> tuple[FlowRun, bool]:
    """POST /flow_runs/: (run, created). `placement` carries resolved work queue fields (ids the
    payload only names); the initial state defaults to Pending. Raises MissingFlow."""
    flow = flow_store.read(create.flow_id)
    if flow is None:
        raise flow_runs.MissingFlow(str(create.flow_id))
    stamp = now_utc()
    fields = {**create.model_dump(exclude={"state", "labels"}, exclude_unset=False), **(placement or {})}
    # As the reference: the flow's labels, then the system label, then the user's own.
    labels = {**(flow.labels or {}), "prefect.flow.id": str(create.flow_id), **(create.labels or {})}
    run = FlowRun(**fields, labels=labels, created=stamp, updated=stamp, created_by=created_by)
    return create_built_flow_run(run, create.state or StateCreate(type=StateType.PENDING), stamp)


def create_built_flow_run(run: FlowRun, initial: StateCreate, now: datetime.datetime) -> tuple[FlowRun, bool]:
    """The one way a client's run is created (POST /flow_runs/ above, a deployment's
    create_flow_run with a run it built): (run, created).

    The same (flow_id, idempotency_key) returns the run created first, also when a concurrent
    create wins the race (as ON CONFLICT DO NOTHING would). Like the reference, the initial
    state is forced: no rules, only bookkeeping. Raises FlowRunAlreadyExists on an id clash."""
    if run.idempotency_key:
        existing = flow_runs.read_by_idempotency_key(run.flow_id, run.idempotency_key)
        if existing is not None:
            return existing, False
    outcome = orchestrate_flow_run(run, initial, force=True, now=now)
    if not flow_runs.insert(outcome.run):
        winner = flow_runs.read_by_idempotency_key(run.flow_id, run.idempotency_key) if run.idempotency_key else None
        if winner is None:
            raise FlowRunAlreadyExists("Flow run already exists")
        return winner, False
    if outcome.run.parent_task_run_id is not None:
        # The parent task run now stands for a subflow: the UI's task-run counts leave it out.
        task_run_store.mark_subflow_parent(outcome.run.parent_task_run_id, outcome.run.id)
    _mirror_to_parent_task(outcome.run, outcome)
    return flow_runs.with_estimates(outcome.run), True


def insert_scheduled_flow_run(run: FlowRun) -> bool:
    """A scheduler tick's run, built whole with its SCHEDULED state by the planner (the
    reference's scheduler inserts them without orchestration, and they have no parent task
    run); False if an overlapping tick already wrote it (same id / idempotency key)."""
    return flow_runs.insert(run)


def set_flow_run_state(
    run_id: UUID, proposed: StateCreate | State, force: bool = False
) -> OrchestrationOutcome[FlowRun]:
    """Orchestrate a proposed state and write it if accepted; raises FlowRunStateTargetNotFound."""
    return _followed(flow_runs.set_state(run_id, proposed, force=force))


def resume_flow_run(run_id: UUID, run_input: dict[str, Any] | None) -> OrchestrationOutcome[FlowRun]:
    """POST /flow_runs/{id}/resume: the input is validated against the paused run's schema and
    stored with the accepted state (flow_run_input.resume_checks)."""
    input_error, input_items = flow_run_input.resume_checks(run_id, run_input)
    return _followed(flow_runs.resume(run_id, input_error, input_items))


def delete_flow_run(run_id: UUID) -> FlowRun:
    run = flow_runs.delete(run_id)
    _cascade_delete(run.id)
    return run


def delete_flow_run_if_unchanged(run: FlowRun) -> bool:
    """Delete a not-yet-started run only if nobody changed its state since it was read."""
    if not flow_runs.delete_if_unchanged(run):
        return False
    _cascade_delete(run.id)
    return True


def delete_flow(flow_id: UUID) -> Flow:
    """Delete a flow with its flow runs (the reference's foreign keys cascade)."""
    flow_store.read_or_404(flow_id)
    for run_id in flow_runs.delete_for_flow(flow_id):
        _cascade_delete(run_id)
    return flow_store.delete(flow_id)


def delete_task_run(task_run_id: UUID) -> TaskRun | None:
    """Delete a task run and its logs; None if there is no such run."""
    run = task_run_store.delete(task_run_id)
    if run is not None:
        log_store.delete_for_task_run(run)
    return run


def _cascade_delete(run_id: UUID) -> None:
    task_run_store.delete_for_flow_run(run_id)
    log_store.delete_for_flow_run(run_id)


def _followed(outcome: OrchestrationOutcome[FlowRun]) -> OrchestrationOutcome[FlowRun]:
    if outcome.write:
        _mirror_to_parent_task(outcome.run, outcome)
    return outcome


def _mirror_to_parent_task(run: FlowRun, outcome: OrchestrationOutcome[FlowRun]) -> None:
    """Keep a subflow's parent task run in step with the subflow.

    The task run is another repository's item with its own conditional write, so it follows
    right after the flow run's; a failure there must not undo an accepted flow run transition,
    so it is logged."""
    if outcome.parent_task_run_state is None or run.parent_task_run_id is None:
        return
    try:
        task_run_store.copy_subflow_state(run.parent_task_run_id, outcome.parent_task_run_state)
    except Exception:
        logger.exception("Could not mirror subflow %s state onto parent task run %s", run.id, run.parent_task_run_id)
