"""The trigger evaluator: reactive (new events, from the table's stream) and proactive
(on a schedule), firing automations' actions.

Reactive: for each new event and each enabled event trigger that covers it, the
trigger's bucket for the event's for_each key is read, evaluated (shared.automations.
buckets, pure) and written back conditioned on the version read; a lost race re-reads.
A firing commits in the same transaction as a "fired" marker (the event id, or the
proactive window), so a redelivered batch or a second evaluator never fires twice.
Proactive: every bucket of a proactive trigger whose window is over is evaluated without
an event; a proactive trigger without `after` / `for_each` always has a window open.

A child of a compound / sequence trigger records its firing for its parent; the parent
fires when enough (or the right order of) child firings lie within its window, through a
transaction that consumes them (so once).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.automations import actions
from shared.automations.buckets import Firing, Outcome, evaluate, opening_bucket
from shared.events.ingest import ingest
from shared.schemas.automation_state import Bucket
from shared.schemas.automations import Automation, CompoundTrigger, EventTrigger, Posture, SequenceTrigger, Trigger
from shared.schemas.events import Event, ReceivedEvent, RelatedResource, Resource
from shared.schemas.types import now_utc, uuid7
from shared.storage import automation_state as state
from shared.storage import automations as automation_store
from shared.storage.errors import ConcurrentUpdate

logger = logging.getLogger("serverflow.automations")

ATTEMPTS = 8


@dataclass
class Fired:
    automation: Automation
    trigger: Trigger
    triggering_event: ReceivedEvent | None
    triggering_labels: dict[str, str]


def _event_triggers(automation: Automation) -> list[EventTrigger]:
    return [t for t in automation.triggers() if isinstance(t, EventTrigger)]


def enabled_automations() -> list[Automation]:
    return [a for a in automation_store.all_automations() if a.enabled]


# --- bucket evaluation with conditional writes -----------------------------------------


def _evaluate_with_retries(
    trigger: EventTrigger,
    bucketing_key: tuple[str, ...],
    step: Callable[[Bucket | None], Outcome | None],
    marker_of: Callable[[Firing], str],
) -> list[Firing]:
    """Read the bucket, run `step(bucket|None) -> (bucket_to_evaluate|None, Outcome|None)`,
    commit conditioned on the version read; re-read on a lost race."""
    for _ in range(ATTEMPTS):
        stored = state.read_bucket(trigger.id, bucketing_key)
        outcome = step(stored.bucket if stored else None)
        if outcome is None:
            return []
        # One marker per firing (an event may close one window and fire in the next).
        markers = [marker_of(f) + (f"#{i}" if i else "") for i, f in enumerate(outcome.firings)]
        try:
            state.commit(trigger.id, bucketing_key, outcome.bucket, stored.version if stored else None, markers)
        except state.BucketConflict:
            continue
        return outcome.firings
    raise ConcurrentUpdate(f"Trigger {trigger.id}: bucket kept changing")


def evaluate_event(trigger: EventTrigger, event: ReceivedEvent) -> list[Firing]:
    """Reactive evaluation of one covered event (any posture: proactive triggers count here)."""
    if state.already_fired(trigger.id, str(event.id)):
        return []  # this event already fired this trigger (a redelivery)
    bucketing_key = trigger.bucketing_key(event)

    def step(existing: Bucket | None) -> Outcome | None:
        bucket = opening_bucket(trigger, event, existing.model_copy(deep=True) if existing else None)
        if bucket is None:
            return None
        if not trigger.expects(event.event):
            return Outcome(bucket) if existing is None else None  # an `after` event opened it
        return evaluate(trigger, bucket, event.occurred, event)

    return _evaluate_with_retries(trigger, bucketing_key, step, lambda _: str(event.id))


def evaluate_window(trigger: EventTrigger, bucketing_key: tuple[str, ...], now: datetime.datetime) -> list[Firing]:
    """Proactive evaluation of one bucket whose window may be over."""

    seen: dict[str, Bucket] = {}

    def step(existing: Bucket | None) -> Outcome | None:
        if existing is None or existing.end > now:
            return None
        seen["window"] = existing
        return evaluate(trigger, existing.model_copy(deep=True), now, None)

    def marker(_: Firing) -> str:
        # The window it closes: the same window can fire only once.
        return state.window_marker(bucketing_key, seen["window"].end)

    return _evaluate_with_retries(trigger, bucketing_key, step, marker)


# --- firing ----------------------------------------------------------------------------


def _parent_of(automation: Automation, trigger: Trigger) -> CompoundTrigger | SequenceTrigger | None:
    for candidate in automation.triggers():
        if isinstance(candidate, (CompoundTrigger, SequenceTrigger)) and any(
            child.id == trigger.id for child in candidate.triggers
        ):
            return candidate
    return None


def _composite_ready(parent: CompoundTrigger | SequenceTrigger, firings: list[state.ChildFiring]) -> bool:
    if isinstance(parent, CompoundTrigger):
        return len(firings) >= parent.num_expected_firings
    order = [f.child_trigger_id for f in sorted(firings, key=lambda f: f.triggered)]
    return order == [child.id for child in parent.triggers]


def fire(fired: Fired, now: datetime.datetime) -> int:
    """Act on a firing of the automation's top trigger, or record it for its parent."""
    parent = _parent_of(fired.automation, fired.trigger)
    if parent is None:
        run_actions(fired)
        return 1
    if parent.num_expected_firings == 1 and isinstance(parent, CompoundTrigger):
        return fire(Fired(fired.automation, parent, fired.triggering_event, fired.triggering_labels), now)
    state.record_child_firing(parent.id, fired.trigger.id, now, fired.triggering_event, parent.within)
    firings = state.child_firings(parent.id)
    if parent.within is not None:
        stale = [f for f in firings if f.triggered < now - parent.within]
        state.drop_child_firings(parent.id, stale)
        firings = [f for f in firings if f not in stale]
    if not _composite_ready(parent, firings):
        return 0
    if not state.consume_child_firings(parent.id, firings):
        return 0  # another evaluator consumed them and fired
    return fire(Fired(fired.automation, parent, fired.triggering_event, fired.triggering_labels), now)


def _embedded(event: ReceivedEvent) -> dict[str, Any]:
    """The triggering event as the payload carries it (whole, as the reference does), except that an
    automation event's own embedded triggering event is cut to its id and name: automations firing on
    each other's events would otherwise nest one level per firing, until no JSON parser reads the
    stored event back (seen: /events/filter answering 422 "recursion limit exceeded")."""
    dumped = event.model_dump(mode="json")
    payload = dumped.get("payload")
    if isinstance(payload, dict) and isinstance(payload.get("triggering_event"), dict):
        inner = payload["triggering_event"]
        payload["triggering_event"] = {"id": inner.get("id"), "event": inner.get("event")}
    return dumped


def _triggered_event(fired: Fired, now: datetime.datetime) -> Event:
    automation = fired.automation
    labels = {"prefect.resource.id": f"prefect.automation.{automation.id}", "prefect.resource.name": automation.name}
    if isinstance(automation.trigger, EventTrigger):
        labels["prefect.posture"] = automation.trigger.posture.value
    event = fired.triggering_event
    return Event(
        occurred=now,
        event="prefect.automation.triggered",
        resource=Resource(labels),
        related=[
            RelatedResource(
                {"prefect.resource.id": f"prefect.event.{event.id}", "prefect.resource.role": "triggering-event"}
            )
        ]
        if event
        else [],
        payload={
            "triggering_labels": fired.triggering_labels,
            "triggering_event": _embedded(event) if event else None,
        },
        id=uuid7(),
    )


def run_actions(fired: Fired) -> None:
    now = now_utc()
    triggered_event = _triggered_event(fired, now)
    ingest([triggered_event])
    automation = fired.automation
    to_run = [*automation.actions_on_trigger, *automation.actions]
    triggered = [
        actions.TriggeredAction(
            automation,
            action,
            index,
            now,
            fired.triggering_event,
            fired.triggering_labels,
            automation_triggered_event_id=triggered_event.id,
        )
        for index, action in enumerate(to_run)
    ]

    async def perform() -> None:
        for one in triggered:
            await actions.act(one)

    asyncio.run(perform())


# --- entry points ----------------------------------------------------------------------


def reactive(events: list[ReceivedEvent]) -> int:
    """Evaluate a batch of new events against every enabled automation; returns firings."""
    if not events:
        return 0
    automations = enabled_automations()
    if not automations:
        return 0
    fired = 0
    for event in sorted(events, key=lambda e: (e.occurred, str(e.id))):
        for automation in automations:
            for trigger in _event_triggers(automation):
                if not trigger.covers(event):
                    continue
                try:
                    firings = evaluate_event(trigger, event)
                except Exception:  # one automation's failure never blocks the others
                    logger.exception("Evaluating automation %s on event %s failed", automation.id, event.id)
                    continue
                for firing in firings:
                    fired += fire(
                        Fired(automation, trigger, firing.triggering_event, firing.triggering_labels), now_utc()
                    )
    return fired


def proactive(now: datetime.datetime | None = None) -> int:
    """Evaluate every proactive trigger's windows that are over; returns firings."""
    now = now or now_utc()
    fired = 0
    for automation in enabled_automations():
        for trigger in _event_triggers(automation):
            if trigger.posture != Posture.Proactive:
                continue
            try:
                if not trigger.for_each and not trigger.after and state.read_bucket(trigger.id, ()) is None:
                    try:
                        state.save_bucket(
                            trigger.id, Bucket(bucketing_key=(), start=now, end=now + trigger.within), None
                        )
                    except state.BucketConflict:
                        pass  # another tick opened it
                for stored in state.buckets_of(trigger.id):
                    if stored.bucket.end > now:
                        continue
                    for firing in evaluate_window(trigger, stored.bucket.bucketing_key, now):
                        fired += fire(
                            Fired(automation, trigger, firing.triggering_event, firing.triggering_labels), now
                        )
            except Exception:
                logger.exception("Proactive evaluation of automation %s failed", automation.id)
    return fired
