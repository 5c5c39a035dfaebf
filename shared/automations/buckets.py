"""Bucketed counting of an event trigger, as the reference's `triggers.evaluate` (pure).

Each (trigger, for_each key) has at most one open bucket: a time window [start, end)
and a count of expected events seen in it. An event either falls before the bucket
(ignored), in it (counted), or after it (a new window). Reactive triggers fire as soon
as the count reaches the threshold; proactive ones only once the window is over with
fewer events than the threshold. After firing (or an expired window) the bucket is
removed when the trigger waits for an `after` event, else the next window starts.

`counted` remembers the ids of events already counted in the bucket, so a redelivered
event (stream retries) never counts twice. No I/O here: shared.automations.evaluator
reads and writes buckets with conditional writes.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from shared.schemas.automation_state import Bucket
from shared.schemas.automations import EventTrigger, Posture
from shared.schemas.events import ReceivedEvent

# Reference: a first bucket opens this far back so out-of-order events still count.
PRECEDING_EVENT_LOOKBACK = datetime.timedelta(minutes=15)
COUNTED_IDS_KEPT = 200


@dataclass
class Firing:
    """The trigger fired for this key; `triggering_event` is what it fired on."""

    bucketing_key: tuple[str, ...]
    triggering_event: ReceivedEvent | None
    triggering_labels: dict[str, str]


@dataclass
class Outcome:
    bucket: Bucket | None  # None: no bucket is kept (removed)
    firings: list[Firing] = field(default_factory=list)


def _fire(trigger: EventTrigger, bucket: Bucket, event: ReceivedEvent | None) -> Firing:
    labels = dict(zip(sorted(trigger.for_each), bucket.bucketing_key, strict=False))
    return Firing(bucket.bucketing_key, event or bucket.last_event, labels)


def _already_counted(bucket: Bucket, event: ReceivedEvent | None) -> bool:
    return event is not None and str(event.id) in bucket.counted


def evaluate(
    trigger: EventTrigger, bucket: Bucket, now: datetime.datetime, event: ReceivedEvent | None, depth: int = 0
) -> Outcome:
    """One evaluation of a bucket at `now` (the event's occurred time, or the clock)."""
    if now < bucket.start:
        return Outcome(bucket)  # a late event for a window already closed
    if _already_counted(bucket, event):
        return Outcome(bucket)  # a redelivery
    count = 1 if event else 0
    if count and (trigger.immediate or bucket.start <= now < bucket.end):
        assert event is not None
        bucket.count += count
        bucket.last_event = event
        bucket.counted = [*bucket.counted, str(event.id)][-COUNTED_IDS_KEPT:]
        count = 0
    ready = trigger.posture == Posture.Reactive or bucket.end <= now
    meets = trigger.meets_threshold(bucket.count)
    firings: list[Firing] = []
    if ready and meets:
        firings.append(_fire(trigger, bucket, event))
    elif now < bucket.end:
        if (
            event is not None
            and trigger.posture == Posture.Proactive
            and trigger.starts_after(event.event)
            and trigger.expects(event.event)
        ):
            # The same event both starts and satisfies the window (heartbeats): restart it.
            return Outcome(
                Bucket(
                    bucketing_key=bucket.bucketing_key,
                    start=event.occurred,
                    end=event.occurred + trigger.within,
                    count=0,
                    last_event=event,
                    counted=[str(event.id)],
                )
            )
        return Outcome(bucket)
    # Fired, or the window is over: what comes next.
    if trigger.after:
        return Outcome(None, firings)
    if trigger.within == datetime.timedelta(0):
        # Immediate triggers keep counting in the same bucket until they fire.
        return Outcome(None if firings else bucket, firings)
    start = max(bucket.end, now)
    following = Bucket(
        bucketing_key=bucket.bucketing_key, start=start, end=start + trigger.within, count=0, counted=bucket.counted
    )
    if trigger.posture == Posture.Reactive and count > 0 and depth < 3:
        # The event belongs to the next window: evaluate it there (it may fire again).
        again = evaluate(trigger, following, now, event, depth + 1)
        return Outcome(again.bucket, firings + again.firings)
    following.count = count
    return Outcome(following, firings)


def opening_bucket(trigger: EventTrigger, event: ReceivedEvent, existing: Bucket | None) -> Bucket | None:
    """The bucket an event evaluates against: the stored one, or one it opens."""
    if existing is not None:
        return existing
    key = trigger.bucketing_key(event)
    if trigger.after and trigger.starts_after(event.event):
        initial = -1 if trigger.expects(event.event) else 0  # the opening event is not counted
        return Bucket(
            bucketing_key=key,
            start=event.occurred,
            end=event.occurred + trigger.within,
            count=initial,
            last_event=event,
        )
    if not trigger.after and trigger.expects(event.event):
        return Bucket(
            bucketing_key=key,
            start=event.occurred - PRECEDING_EVENT_LOOKBACK,
            end=event.occurred + trigger.within,
            count=0,
            last_event=event,
        )
    return None
