"""The bucketed counting of event triggers (shared.automations.buckets), pure."""

from __future__ import annotations

import datetime
import uuid

from shared.automations.buckets import PRECEDING_EVENT_LOOKBACK, evaluate, opening_bucket
from shared.schemas.automation_state import Bucket
from shared.schemas.automations import EventTrigger
from shared.schemas.events import Event, ReceivedEvent

T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def _event(name: str, seconds: float, resource: str = "r") -> ReceivedEvent:
    return Event.model_validate(
        {
            "id": str(uuid.uuid4()),
            "occurred": T0 + datetime.timedelta(seconds=seconds),
            "event": name,
            "resource": {"prefect.resource.id": resource},
        }
    ).receive()


def _run(trigger: EventTrigger, events: list[ReceivedEvent]) -> tuple[Bucket | None, int]:
    bucket: Bucket | None = None
    fired = 0
    for event in events:
        bucket = opening_bucket(trigger, event, bucket)
        if bucket is None or not trigger.expects(event.event):
            continue
        outcome = evaluate(trigger, bucket, event.occurred, event)
        bucket, fired = outcome.bucket, fired + len(outcome.firings)
    return bucket, fired


def test_reactive_threshold_fires_once_per_window() -> None:
    trigger = EventTrigger(posture="Reactive", expect={"tick"}, threshold=3, within=datetime.timedelta(seconds=60))
    bucket, fired = _run(trigger, [_event("tick", s) for s in (0, 1, 2, 3, 4)])
    assert fired == 1  # the third tick fires; ticks in the rest of the window are not counted
    assert bucket is not None and bucket.start == T0 + datetime.timedelta(seconds=60) and bucket.count == 0
    _, fired = _run(trigger, [_event("tick", s) for s in (0, 1, 2, 70, 71, 72)])
    assert fired == 2


def test_immediate_trigger_fires_on_every_event_and_a_first_bucket_looks_back() -> None:
    trigger = EventTrigger(posture="Reactive", expect={"prefect.flow-run.*"})
    assert trigger.immediate
    first = _event("prefect.flow-run.Failed", 0)
    opened = opening_bucket(trigger, first, None)
    assert opened is not None and opened.start == first.occurred - PRECEDING_EVENT_LOOKBACK
    _, fired = _run(trigger, [_event("prefect.flow-run.Failed", s) for s in (0, 1)])
    assert fired == 2


def test_a_redelivered_event_is_counted_once() -> None:
    trigger = EventTrigger(posture="Reactive", expect={"tick"}, threshold=2, within=datetime.timedelta(seconds=60))
    once = _event("tick", 0)
    bucket, fired = _run(trigger, [once, once])
    assert fired == 0 and bucket is not None and bucket.count == 1


def test_proactive_fires_only_after_the_window_without_enough_events() -> None:
    trigger = EventTrigger(posture="Proactive", after={"start"}, expect={"done"}, within=datetime.timedelta(seconds=30))
    bucket, fired = _run(trigger, [_event("start", 0)])
    assert fired == 0 and bucket is not None and bucket.end == T0 + datetime.timedelta(seconds=30)
    early = evaluate(trigger, bucket.model_copy(deep=True), T0 + datetime.timedelta(seconds=10), None)
    assert early.firings == [] and early.bucket is not None
    late = evaluate(trigger, bucket.model_copy(deep=True), T0 + datetime.timedelta(seconds=31), None)
    assert len(late.firings) == 1 and late.bucket is None  # waits for the next `after` event
    satisfied, _ = _run(trigger, [_event("start", 0), _event("done", 5)])
    assert satisfied is not None and satisfied.count == 1
    assert evaluate(trigger, satisfied, T0 + datetime.timedelta(seconds=31), None).firings == []


def test_for_each_keys_and_event_patterns() -> None:
    trigger = EventTrigger(
        posture="Reactive",
        expect={"prefect.flow-run.*"},
        for_each={"prefect.resource.id", "related:flow:prefect.resource.name"},
    )
    event = Event.model_validate(
        {
            "id": str(uuid.uuid4()),
            "occurred": T0,
            "event": "prefect.flow-run.Failed",
            "resource": {"prefect.resource.id": "prefect.flow-run.1"},
            "related": [
                {
                    "prefect.resource.id": "prefect.flow.9",
                    "prefect.resource.role": "flow",
                    "prefect.resource.name": "etl",
                }
            ],
        }
    ).receive()
    assert trigger.bucketing_key(event) == ("prefect.flow-run.1", "etl")
    assert trigger.covers(event) and not trigger.covers(_event("prefect.flow.Failed", 0))
