"""One hint (an SQS message body) or one polled run, start to finish. The CLI worker and the Lambda
worker share this; they differ only in how they acknowledge (delete / partial-batch failure).

An SQS message is a wake-up, not an order: the worker claims only runs that
``get_scheduled_flow_runs`` hands out (queue priorities, queue and pool concurrency limits, pauses), and
``triage`` decides what becomes of a hint whose run was not handed out."""

from __future__ import annotations

import enum
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..exceptions import APIError, ObjectNotFound, ServerflowError
from .api import WorkerAPI
from .claim import ClaimOutcome, claim
from .console import say
from .options import WorkerOptions
from .supervise import execute

MESSAGE_TYPE = "serverflow.flow_run.due"  # shared/dispatch/messages.py (the SDK never imports shared/)


class Outcome(enum.Enum):
    DONE = "done"  # executed to an outcome: acknowledge
    SKIPPED = "skipped"  # lost the claim or not runnable: the hint is spent, acknowledge
    POISON = "poison"  # not a hint we can use: do NOT acknowledge, SQS moves it to the DLQ after 5 receives
    LATER = "later"  # not now (server said wait, API hiccup): do not acknowledge, it comes back

    @property
    def acknowledge(self) -> bool:
        return self in (Outcome.DONE, Outcome.SKIPPED)


class BadHint(ValueError):
    pass


@dataclass
class Hint:
    flow_run_id: str
    work_pool_name: str | None
    work_queue_name: str | None
    requeued: int = 0  # times a Lambda worker sent this hint again (record.handle_wakeup)


def parse_hint(body: str) -> Hint:
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise BadHint(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("type") != MESSAGE_TYPE:
        raise BadHint("not a Serverflow flow-run message")
    try:
        run_id = str(UUID(str(data.get("flow_run_id"))))
    except ValueError:
        raise BadHint(f"bad flow_run_id {data.get('flow_run_id')!r}") from None
    requeued = data.get("requeued")
    return Hint(
        run_id, data.get("work_pool_name"), data.get("work_queue_name"), requeued if isinstance(requeued, int) else 0
    )


def handle_run(
    api: WorkerAPI,
    run_id: str,
    options: WorkerOptions,
    tick: Callable[[], None] = lambda: None,
    stopping: threading.Event | None = None,
) -> Outcome:
    try:
        got = claim(api, run_id)
    except ObjectNotFound:
        say(f"flow run {run_id} does not exist: leaving its message for the dead-letter queue")
        return Outcome.POISON
    except APIError as exc:
        say(f"could not claim flow run {run_id}: {exc}")
        return Outcome.LATER
    if got.outcome is ClaimOutcome.LOST:
        say(f"skipping flow run {run_id}: {got.reason}")
        return Outcome.SKIPPED
    if got.outcome is ClaimOutcome.NOT_YET:
        return Outcome.LATER
    tick()  # the claim took time: keep the hint invisible before starting the flow
    execute(api, got, options, tick, stopping)
    return Outcome.DONE


def handle_hint(
    api: WorkerAPI,
    body: str,
    options: WorkerOptions,
    requeue: Callable[[int], None],
    stopping: threading.Event | None = None,
) -> Outcome:
    """A hint received alone (the Lambda worker): a wake-up for ``handle_wakeup``."""
    try:
        hint = parse_hint(body)
    except BadHint as exc:
        say(f"poison message ({exc}): leaving it for the dead-letter queue")
        return Outcome.POISON
    if hint.work_pool_name and hint.work_pool_name != api.pool_name:
        say(
            f"message for pool {hint.work_pool_name!r} on {api.pool_name!r}'s queue: leaving it for the dead-letter queue"
        )
        return Outcome.POISON
    return handle_wakeup(api, hint, options, requeue, stopping)


# --- hints whose run the API did not hand out ------------------------------------------------------

# SQS dead-letters a message on its 5th receive (shared/dispatch/sqs.py MAX_RECEIVE_COUNT). A hint for a
# live run is released (made visible again soon) on at most its first MAX_RELEASE_RECEIVES receives and
# deleted after that, so it is never dead-lettered for waiting on a limit; the API poll finds the run.
MAX_RELEASE_RECEIVES = 2
# A due run the API did not return may only be missing from its eventually consistent scheduled index
# (a just-created run): such a hint comes back this soon.
RETRY_SECONDS = 1


class Disposal(enum.Enum):
    POISON = "poison"  # no such run: leave the message, SQS moves it to the DLQ after 5 receives
    SPENT = "spent"  # the run is no longer SCHEDULED (claimed, finished, cancelled): delete the hint
    EARLY = "early"  # SCHEDULED but not due within the prefetch window: release it until then
    BLOCKED = "blocked"  # SCHEDULED and due but not handed out (limit, pause, priority, index lag)
    UNKNOWN = "unknown"  # the API could not tell: leave the message for redelivery


def triage(api: WorkerAPI, run_id: str, prefetch_seconds: float) -> tuple[Disposal, float]:
    """Why a hinted run was not handed out; for EARLY, the seconds until it enters the prefetch window."""
    try:
        run = api.read_run(run_id)
    except ObjectNotFound:
        return Disposal.POISON, 0.0
    except APIError:
        return Disposal.UNKNOWN, 0.0
    if run.state_type != "SCHEDULED":
        return Disposal.SPENT, 0.0
    due = run.next_scheduled_start_time
    if due is not None:
        if due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        wait = (due - datetime.now(UTC)).total_seconds() - prefetch_seconds
        if wait > 0:
            return Disposal.EARLY, wait
    return Disposal.BLOCKED, 0.0


# Lambda has no API poll to fall back on: a hint for a due run it could not start is sent again (a new
# message, so its receive count starts over), backing off up to this long.
REQUEUE_MAX_SECONDS = 300
REQUEUE_FIRST_SECONDS = 5


def requeue_delay(disposal: Disposal, wait_seconds: float, times_requeued: int) -> int:
    if disposal is Disposal.EARLY:
        return max(1, min(900, int(wait_seconds + 0.999)))
    return int(min(REQUEUE_MAX_SECONDS, REQUEUE_FIRST_SECONDS * 2 ** min(times_requeued, 10)))


def handle_wakeup(
    api: WorkerAPI,
    hint: Hint,
    options: WorkerOptions,
    requeue: Callable[[int], None],
    stopping: threading.Event | None = None,
) -> Outcome:
    """One hint, one slot (the Lambda worker): ask ``get_scheduled_flow_runs`` for one run (limits and
    priorities hold), execute it, then settle the hint. A hint whose run was not handed out and is still
    SCHEDULED is passed to ``requeue`` (with a delay) and acknowledged; an unknown run is POISON."""
    try:
        runs = api.scheduled_runs(options.queues, options.prefetch_seconds, 1)
    except ServerflowError as exc:
        say(f"polling the API failed: {exc}")
        return Outcome.LATER
    if runs:
        run_id = str(runs[0].id)
        outcome = handle_run(api, run_id, options, stopping=stopping)
        if run_id == hint.flow_run_id:
            return outcome
    disposal, wait_seconds = triage(api, hint.flow_run_id, options.prefetch_seconds)
    if disposal is Disposal.POISON:
        say(f"flow run {hint.flow_run_id} does not exist: leaving its message for the dead-letter queue")
        return Outcome.POISON
    if disposal is Disposal.UNKNOWN:
        return Outcome.LATER
    if disposal is not Disposal.SPENT:
        delay = requeue_delay(disposal, wait_seconds, hint.requeued)
        say(f"flow run {hint.flow_run_id} not handed out ({disposal.value}): hint sent again in {delay}s")
        requeue(delay)
    return Outcome.SKIPPED


def requeued_body(body: str) -> str:
    data = json.loads(body)
    data["requeued"] = int(data.get("requeued") or 0) + 1
    return json.dumps(data, separators=(",", ":"))
