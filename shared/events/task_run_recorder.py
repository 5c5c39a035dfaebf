"""Turn the client's `prefect.task-run.*` events into task runs and states, and record them.

In Prefect 3.9.1 the engine orchestrates task runs client-side and reports every
transition as an event; the server's recorder rebuilds the TaskRun and its State
from it. Ingestion only stores the events (tagged recordable); the stream-fed recorder
(functions/task_run_recorder) hands each batch it takes from the table's stream to `record`,
which groups the events per task run so one batch costs one run write per run (its newest
state), whatever number of its states the batch holds. Storage's conditional writes make the
newest state win in any arrival order, and a replayed batch writes no run.

Recordable events are stored off the by-resource event index: the state history of their task run
finds them (state id = event id). The few that history cannot find, a malformed event it drops or a
run recorded under an adopted id, get a reference on that index (events.index_by_resource).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.states import State
from shared.schemas.task_runs import TaskRun
from shared.storage import events as event_store
from shared.storage.task_run_states import record_many as record_history
from shared.storage.task_runs import record_many as record_task_runs

logger = logging.getLogger("serverflow.events")

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


def record(events: Iterable[ReceivedEvent]) -> int:
    """Record the task runs the recordable events describe; returns how many runs.

    Cost for a batch: the batched upsert of its task runs with their newest states (task_runs.record_many:
    one Query per flow run and a BatchGetItem per 100 keys, no transaction: a new run is its guard's conditional
    put_new (in its flow run's partition: no by-flow-run index copy) then the run's
    conditional put, 1 WRU each before index copies, a known run one conditional put, nothing for a run
    already at that state; older states in the batch go to history only), and the history: per run one group
    item holding the batch's states of the run (none for a run the batch creates: its guard holds them when
    they fit, task_run_keys.py), and the batch's pages of state ids (one per minute and shard of
    its UUIDv7 state ids; a pointer per other id) that find a state by id (task_run_states.record_many), in
    BatchWriteItem calls of 25 items (and one per 25 references, for the rare events their own run's history
    does not hold).
    """
    events = [event for event in events if is_recordable(event)]
    per_run = list(_task_run_states(events).values())
    recorded = record_task_runs([states[-1] for states in per_run], [[s for _, s in states] for states in per_run])
    canonical = recorded.runs
    # The history of each event's own task run indexes it by resource, unless it goes into another run's
    # history (the natural key was another id's) or into none (malformed). Before the history groups, so that
    # once a batch's groups are readable, all of the batch is (tests/support/events.recorded relies on it: its
    # sentinel run has no flow run, hence no guard to hold its state; guards holding states come earlier).
    in_own_history = {
        state.id
        for run, states in zip(canonical, per_run, strict=False)
        for event_run, state in states
        if run.id == event_run.id
    }
    event_store.index_by_resource(event for event in events if event.id not in in_own_history)
    if per_run:
        record_history(
            ((run.id, state) for run, states in zip(canonical, per_run, strict=False) for _, state in states),
            recorded.held,
        )
    return len(per_run)


def _task_run_states(events: Iterable[ReceivedEvent]) -> dict[UUID, list[tuple[TaskRun, State]]]:
    """Recordable events (the caller's) grouped per task run, oldest state first."""
    grouped: dict[UUID, list[tuple[TaskRun, State]]] = defaultdict(list)
    for event in events:
        try:
            run, state = task_run_from_event(event)
        except (ValueError, ValidationError):
            logger.warning("Dropping malformed task-run event %s (%s)", event.id, event.event, exc_info=True)
            continue
        grouped[run.id].append((run, state))
    for states in grouped.values():
        states.sort(key=lambda pair: pair[1].timestamp)
    return grouped
