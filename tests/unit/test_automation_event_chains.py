"""Automations firing on each other's `prefect.automation.triggered` events stay readable: each event
embeds its triggering event, but not that event's own embedded one, so the nesting cannot grow per
firing until the stored event no longer parses (the full suite once met /events/filter answering 422)."""

from __future__ import annotations

from shared.automations.evaluator import Fired, _triggered_event
from shared.schemas.automations import Automation
from shared.schemas.events import Event, ReceivedEvent
from shared.schemas.json_limits import MAX_JSON_DEPTH, json_depth
from shared.schemas.types import now_utc, uuid7


def test_a_chain_of_300_automation_firings_stays_shallow_and_reads_back() -> None:
    automation = Automation.model_validate(
        {
            "name": "fires-on-automation-events",
            "trigger": {"type": "event", "expect": ["prefect.automation.triggered"], "posture": "Reactive"},
            "actions": [{"type": "do-nothing"}],
        }
    )
    event: ReceivedEvent = Event(
        occurred=now_utc(), event="seed", resource={"prefect.resource.id": "seed"}, payload={"a": {"b": 1}}, id=uuid7()
    ).receive()
    for _ in range(300):
        fired = Fired(automation, automation.trigger, event, {})
        event = _triggered_event(fired, now_utc()).receive()
    stored = event.model_dump_json()
    assert json_depth(stored) <= MAX_JSON_DEPTH
    read = ReceivedEvent.model_validate_json(stored)
    assert read.payload["triggering_event"]["event"] == "prefect.automation.triggered"
    assert set(read.payload["triggering_event"]["payload"]["triggering_event"]) == {"id", "event"}
