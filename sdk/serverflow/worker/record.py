"""One hint (an SQS message body) or one polled run, start to finish. The CLI worker and the Lambda
worker share this; they differ only in how they acknowledge (delete / partial-batch failure)."""

from __future__ import annotations

import enum
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable
from uuid import UUID

from ..exceptions import APIError, ObjectNotFound
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
    return Hint(run_id, data.get("work_pool_name"), data.get("work_queue_name"))


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
    tick: Callable[[], None] = lambda: None,
    stopping: threading.Event | None = None,
) -> Outcome:
    try:
        hint = parse_hint(body)
    except BadHint as exc:
        say(f"poison message ({exc}): leaving it for the dead-letter queue")
        return Outcome.POISON
    if hint.work_pool_name and hint.work_pool_name != api.pool_name:
        say(f"message for pool {hint.work_pool_name!r} on {api.pool_name!r}'s queue: leaving it for the dead-letter queue")
        return Outcome.POISON
    return handle_run(api, hint.flow_run_id, options, tick, stopping)
