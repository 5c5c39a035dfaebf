"""The template's stream-fed functions as the local stack runs them: the task-run recorder's filter matches
exactly the event items storage tags for it, and only idempotent consumers start from TRIM_HORIZON."""

from __future__ import annotations

from typing import Any

from infra.local.streams import StreamFunction, passes, stream_functions
from shared.storage import events as event_store
from shared.storage import log_groups


def _function(logical_id: str) -> StreamFunction:
    (found,) = [f for f in stream_functions() if f.logical_id == logical_id]
    return found


def _record(event_name: str, image: dict[str, Any]) -> dict[str, Any]:
    return {"eventName": event_name, "dynamodb": {"NewImage": image}}


def test_the_recorder_takes_inserts_of_the_events_storage_tags_for_it_only() -> None:
    recorder = _function("TaskRunRecorderFunction")
    tagged = {"entity": {"S": event_store.ENTITY}, "stream_feed": {"S": event_store.TASK_RUN_FEED}}
    assert passes(recorder, _record("INSERT", tagged))
    assert not passes(recorder, _record("MODIFY", tagged))  # a resent event: recorded from its INSERT
    assert not passes(recorder, _record("INSERT", {"entity": {"S": event_store.ENTITY}}))  # any other event
    assert not passes(recorder, _record("INSERT", {"entity": {"S": "log"}}))


def test_the_fan_out_takes_inserts_of_log_items_of_both_kinds_only() -> None:
    """/logs/out is fed by log group items and, written before groups, single-line items; a retried POST
    rewrites its groups (MODIFY): nothing new to send."""
    fan_out = _function("SubscriptionsFanoutFunction")
    for entity in log_groups.ENTITIES:
        assert passes(fan_out, _record("INSERT", {"entity": {"S": entity}}))
        assert not passes(fan_out, _record("MODIFY", {"entity": {"S": entity}}))


def test_only_idempotent_consumers_replay_the_stream_at_start() -> None:
    # The recorder re-takes what a crash left unprocessed; the automations evaluator must never fire twice.
    assert _function("TaskRunRecorderFunction").starting_position == "TRIM_HORIZON"
    assert _function("AutomationTriggersFunction").starting_position == "LATEST"
    assert _function("SubscriptionsFanoutFunction").starting_position == "LATEST"
