"""Task run engine. Task runs are client-side: no API call per state, each transition becomes a
``prefect.task-run.*`` event queued for the batched event shipper (see events.py, _shipper.py)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import _time
from .._ids import uuid7
from .._params import call_with, run_name
from .._timeout import call_with_timeout
from ..cache_policies import NONE, CachePolicy
from ..concurrency import Lease, acquire_task_slots
from ..context import (
    FlowRunContext,
    TaskRunContext,
    get_flow_run_context,
    get_task_run_context,
    reset_task_run_context,
    set_task_run_context,
)
from ..exceptions import TaskTimeout, UpstreamTaskError
from ..futures import TaskRunFuture, allow_failure
from ..logging import RunLogger, task_run_logger
from ..results import ResultStore
from ..states import (
    AwaitingRetry,
    Cached,
    Completed,
    Crashed,
    Failed,
    Pending,
    Retrying,
    Running,
    State,
    StateType,
    TimedOut,
)
from .events import task_run_state_event

if TYPE_CHECKING:
    from ..tasks import Task


@dataclass
class TaskRunRecord:
    """The task run as the engine tracks it; ``payload()`` is the ``task_run`` part of its events."""

    id: uuid.UUID
    name: str
    task_key: str
    dynamic_key: str
    flow_run_id: uuid.UUID | None
    flow_run_name: str | None
    flow_id: uuid.UUID | None
    flow_name: str | None
    tags: list[str]
    task_inputs: dict[str, list[dict[str, Any]]]
    retries: int
    retry_delay: Any
    retry_jitter_factor: float | None
    task_version: str | None = None
    deployment_id: str | None = None
    deployment_name: str | None = None
    run_count: int = 0
    flow_run_run_count: int = 0
    expected_start_time: datetime = field(default_factory=_time.now)
    start_time: datetime | None = None
    end_time: datetime | None = None
    total_run_time: float = 0.0
    cache_key: str | None = None
    cache_expiration: datetime | None = None
    state: State[Any] | None = None
    last_event_id: str | None = None
    logger: RunLogger = None  # type: ignore[assignment]  # set as the run starts, before anything reads it

    def payload(self) -> dict[str, Any]:
        policy: dict[str, Any] = {
            "max_retries": 0,
            "retry_delay_seconds": 0.0,
            "retries": self.retries,
        }
        if self.retry_delay is not None:
            policy["retry_delay"] = self.retry_delay
        if self.retry_jitter_factor is not None:
            policy["retry_jitter_factor"] = self.retry_jitter_factor
        data: dict[str, Any] = {
            "name": self.name,
            "task_key": self.task_key,
            "dynamic_key": self.dynamic_key,
            "empirical_policy": policy,
            "tags": list(self.tags),
            "labels": {},
            "task_inputs": self.task_inputs,
            "run_count": self.run_count,
            "flow_run_run_count": self.flow_run_run_count,
            "expected_start_time": _time.iso(self.expected_start_time),
            "total_run_time": round(self.total_run_time, 6),
        }
        if self.task_version is not None:
            data["task_version"] = self.task_version
        if self.cache_key is not None:
            data["cache_key"] = self.cache_key
        if self.cache_expiration is not None:
            data["cache_expiration"] = _time.iso(self.cache_expiration)
        if self.start_time is not None:
            data["start_time"] = _time.iso(self.start_time)
        if self.end_time is not None:
            data["end_time"] = _time.iso(self.end_time)
        return data


# --- inputs ------------------------------------------------------------------------------------------------------
def _upstream_refs(value: Any, found: list[dict[str, Any]], depth: int = 0) -> None:
    """Task-run ids the value depends on (futures and states nested in collections), for ``task_inputs``."""
    if depth > 5:
        return
    if isinstance(value, allow_failure):
        value = value.value
    if isinstance(value, TaskRunFuture):
        found.append({"input_type": "task_run", "id": str(value.task_run_id)})
    elif isinstance(value, State):
        if value.state_details.get("task_run_id"):
            found.append({"input_type": "task_run", "id": str(value.state_details["task_run_id"])})
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _upstream_refs(item, found, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _upstream_refs(item, found, depth + 1)


def collect_task_inputs(parameters: dict[str, Any], wait_for: list[Any] | None) -> dict[str, list[dict[str, Any]]]:
    inputs: dict[str, list[dict[str, Any]]] = {}
    for name, value in parameters.items():
        refs: list[dict[str, Any]] = []
        _upstream_refs(value, refs)
        inputs[name] = refs
    if wait_for:
        refs = []
        _upstream_refs(list(wait_for), refs)
        inputs["wait_for"] = refs
    parent = get_task_run_context()
    if parent is not None:
        inputs["__parents__"] = [{"input_type": "task_run", "id": str(parent.task_run.id)}]
    return inputs


def _resolve(value: Any, depth: int = 0) -> Any:
    """Replace futures/states with their results, waiting for them. Failed upstreams raise UpstreamTaskError."""
    if isinstance(value, allow_failure):
        inner = value.value
        if isinstance(inner, TaskRunFuture):
            inner.wait()
            return inner.state.result(raise_on_failure=False)
        if isinstance(inner, State):
            return inner.result(raise_on_failure=False)
        return _resolve(inner, depth)
    if isinstance(value, TaskRunFuture):
        value.wait()
        state = value.state
        if not state.is_completed():
            raise UpstreamTaskError(f"Upstream task run '{value.task_run_id}' did not reach a 'COMPLETED' state.")
        return state.result()
    if isinstance(value, State):
        if not value.is_completed():
            raise UpstreamTaskError(f"Upstream state {value!r} did not reach a 'COMPLETED' state.")
        return value.result()
    if depth > 5:
        return value
    if isinstance(value, list):
        return [_resolve(v, depth + 1) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_resolve(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set):
        return {_resolve(v, depth + 1) for v in value}
    return value


def resolve_parameters(parameters: dict[str, Any], wait_for: list[Any] | None) -> dict[str, Any]:
    if wait_for:
        for item in wait_for:
            if isinstance(item, TaskRunFuture):
                item.wait()
                if not item.state.is_completed():
                    raise UpstreamTaskError(
                        f"Upstream task run '{item.task_run_id}' did not reach a 'COMPLETED' state."
                    )
            elif isinstance(item, State) and not item.is_completed():
                raise UpstreamTaskError(f"Upstream state {item!r} did not reach a 'COMPLETED' state.")
    return {name: _resolve(value) for name, value in parameters.items()}


# --- engine ------------------------------------------------------------------------------------------------------
class TaskRunEngine:
    def __init__(
        self,
        task: Task[..., Any],
        parameters: dict[str, Any],
        wait_for: list[Any] | None = None,
        flow_ctx: FlowRunContext | None = None,
        task_run_id: uuid.UUID | None = None,
    ) -> None:
        self.task = task
        self.raw_parameters = parameters
        self.wait_for = wait_for
        self.flow_ctx = flow_ctx if flow_ctx is not None else get_flow_run_context()
        self.parameters: dict[str, Any] = {}
        flow_ctx = self.flow_ctx
        dynamic_key = str(uuid.uuid4())
        name = run_name(task.task_run_name, parameters) or f"{task.name}-{dynamic_key[:3]}"
        deployment = (flow_ctx.deployment or {}) if flow_ctx else {}
        retry_delay = task.retry_delay_seconds
        if isinstance(retry_delay, float):
            retry_delay = int(retry_delay)
        elif isinstance(retry_delay, list):
            retry_delay = [int(d) for d in retry_delay]
        elif retry_delay is None:
            retry_delay = 0
        self.record = TaskRunRecord(
            id=task_run_id or uuid7(),
            name=name,
            task_key=task.task_key,
            dynamic_key=dynamic_key,
            flow_run_id=flow_ctx.flow_run.id if flow_ctx else None,
            flow_run_name=flow_ctx.flow_run.name if flow_ctx else None,
            flow_id=flow_ctx.flow_run.flow_id if flow_ctx else None,
            flow_name=flow_ctx.flow.name if flow_ctx else None,
            tags=sorted(set(task.tags) | set(_current_tags(flow_ctx))),
            task_inputs=collect_task_inputs(parameters, wait_for),
            retries=task.retries,
            retry_delay=retry_delay,
            retry_jitter_factor=task.retry_jitter_factor,
            task_version=task.version,
            deployment_id=deployment.get("id"),
            deployment_name=deployment.get("name"),
        )
        self.record.logger = task_run_logger(
            self.record.id,
            name,
            self.record.flow_run_id,
            self.record.flow_run_name,
            flow_ctx.logs if flow_ctx else None,
        )
        self.logger = self.record.logger
        self.attempts = 0
        self.persist = task.persist_result
        if self.persist is None:
            self.persist = bool(flow_ctx.persist_result) if flow_ctx and flow_ctx.persist_result is not None else False
            if task.cache_policy_explicit or task.result_storage is not None:
                self.persist = True
        self.cache_policy: CachePolicy = task.cache_policy if self.persist else NONE
        self._store: ResultStore | None = None

    # --- states --------------------------------------------------------------------------------------------
    @property
    def state(self) -> State[Any]:
        assert self.record.state is not None
        return self.record.state

    def set_state(self, new: State[Any]) -> State[Any]:
        record = self.record
        previous = record.state
        now = new.timestamp
        if previous is not None and previous.is_running() and record.start_time is not None:
            record.total_run_time += max(0.0, (now - previous.timestamp).total_seconds())
        if new.is_running():
            record.run_count += 1
            record.flow_run_run_count = self.flow_ctx.run_count if self.flow_ctx else 0
            if record.start_time is None:
                record.start_time = now
        if new.is_final():
            record.end_time = now
        new.state_details.setdefault("task_run_id", str(record.id))
        if record.flow_run_id is not None:
            new.state_details.setdefault("flow_run_id", str(record.flow_run_id))
        record.state = new
        if self.flow_ctx is not None:
            event = task_run_state_event(record, previous, new, record.last_event_id)
            record.last_event_id = event["id"]
            self.flow_ctx.events.put(event)
        return new

    # --- phases --------------------------------------------------------------------------------------------
    def start(self) -> bool:
        """Pending, then resolve upstream inputs. False if an upstream failed (state NotReady)."""
        self.set_state(Pending())
        try:
            self.parameters = resolve_parameters(self.raw_parameters, self.wait_for)
        except UpstreamTaskError as exc:
            # Prefect semantics: the task never runs; calling code gets the UpstreamTaskError.
            self.set_state(State(StateType.PENDING, "NotReady", str(exc), value=exc))
            return False
        return True

    def begin_attempt(self, retrying: bool = False) -> State[Any] | None:
        """Enter Running (or Retrying); returns a Cached state when the cache has a valid result."""
        self.set_state(Retrying() if retrying else Running())
        return self._cache_lookup()

    def store(self) -> ResultStore:
        if self._store is None:
            if self.task.result_storage is not None:
                self._store = ResultStore(self.task.result_storage, self.task.result_serializer or "pickle")
            elif self.flow_ctx is not None:
                self._store = self.flow_ctx.result_store
            else:
                self._store = ResultStore(serializer=self.task.result_serializer or "pickle")
        return self._store

    def _task_context(self) -> TaskRunContext:
        log_prints = self.task.log_prints
        if log_prints is None:
            log_prints = self.flow_ctx.log_prints if self.flow_ctx else False
        return TaskRunContext(self.task, self.record, self.parameters, log_prints=bool(log_prints))

    def _cache_lookup(self) -> State[Any] | None:
        if self.cache_policy is NONE or not self.cache_policy.parts:
            return None
        key = self.cache_policy.compute_key(self._task_context(), self.parameters)
        self.record.cache_key = key
        if key is None:
            return None
        if self.task.cache_expiration is not None:
            self.record.cache_expiration = _time.now() + self.task.cache_expiration
        if self.task.refresh_cache:
            return None
        try:
            hit = self.store().read(key)
        except Exception as exc:  # noqa: BLE001 - an unreadable record is a miss, not a failure
            self.logger.warning("Could not read cached result %s: %s", key, exc)
            return None
        if hit is None:
            return None
        value, metadata = hit
        self.logger.info("Finished in state Cached(type=COMPLETED)")
        state = Cached(value)
        state.data = metadata
        return self.set_state(state)

    def succeed(self, value: Any) -> State[Any]:
        if isinstance(value, State):
            # Returning a state sets the task's final state (prefect semantics).
            return self.set_state(value.copy())
        state = Completed(value)
        if self.persist:
            key = self.task.result_storage_key.format(**self.parameters) if self.task.result_storage_key else None
            key = key or self.record.cache_key or uuid.uuid4().hex
            try:
                state.data = self.store().write(key, value, self.record.cache_expiration)
            except Exception as exc:  # noqa: BLE001 - an unpersisted result is logged; the run's state stands
                self.logger.warning("Could not persist the result: %s", exc)
        self.logger.info("Finished in state %r", state)
        return self.set_state(state)

    def fail(self, exc: BaseException) -> float | None:
        """Retry (returns the delay, 0 for immediately, state set accordingly) or fail (returns None)."""
        if isinstance(exc, (KeyboardInterrupt, SystemExit, asyncio.CancelledError)) or not isinstance(exc, Exception):
            self.set_state(Crashed(exc, message=f"Execution was interrupted: {type(exc).__name__}"))
            return None
        can_retry = self.attempts <= self.task.retries
        if can_retry and self.task.retry_condition_fn is not None:
            try:
                can_retry = bool(self.task.retry_condition_fn(self.task, self.record, Failed(exc)))
            except Exception:  # noqa: BLE001 - a failing retry condition means no retry, as Prefect does
                can_retry = False
        if can_retry:
            delay = self._retry_delay()
            self.logger.info(
                "Task run failed with exception: %r - Retry %s/%s will start %s",
                exc,
                self.attempts,
                self.task.retries,
                f"{delay} second(s) from now" if delay else "immediately",
            )
            if delay:
                self.set_state(AwaitingRetry(_time.now() + timedelta(seconds=delay)))
            return delay
        suffix = " - Retries are exhausted" if self.task.retries else ""
        self.logger.error("Task run failed with exception: %r%s", exc, suffix, exc_info=exc)
        if isinstance(exc, TaskTimeout):
            state = TimedOut(exc, message=f"Task run exceeded timeout of {self.task.timeout_seconds} second(s)")
        else:
            state = Failed(exc, message=f"Task run encountered an exception {type(exc).__name__}: {exc}")
        self.logger.info("Finished in state %r", state)
        self.set_state(state)
        return None

    def _retry_delay(self) -> float:
        configured = self.task.retry_delay_seconds
        if not configured:
            return 0.0
        if isinstance(configured, (list, tuple)):
            delay = float(configured[min(self.attempts - 1, len(configured) - 1)])
        else:
            delay = float(configured)
        factor = self.task.retry_jitter_factor
        if factor and delay > 0:
            # Clamped jitter: up to `factor` times the delay on either side, never negative.
            delay = max(0.0, delay + random.uniform(-factor, factor) * delay)
        return delay

    def call_hooks(self) -> None:
        state = self.state
        hooks = (
            self.task.on_completion_hooks
            if state.is_completed()
            else (self.task.on_failure_hooks if state.is_failed() else [])
        )
        for hook in hooks:
            try:
                hook(self.task, self.record, state)
            except Exception as exc:  # noqa: BLE001 - a user hook's failure is logged, as Prefect does
                self.logger.error("Hook %r failed: %r", getattr(hook, "__name__", hook), exc)

    # --- drivers -------------------------------------------------------------------------------------------
    def run(self) -> State[Any]:
        """Run to a final state in this thread (sync task functions)."""
        if not self.start():
            return self.state
        lease = self._take_tag_slots()
        try:
            self._attempts_sync()
        finally:
            if lease is not None:
                lease.release()
        self.call_hooks()
        return self.state

    def _take_tag_slots(self) -> Lease | None:
        """One slot of each ``tag:<tag>`` limit, held from Running to the final state (retries included)."""
        if self.flow_ctx is None or not self.record.tags:
            return None
        return acquire_task_slots(self.flow_ctx.client, list(self.record.tags), str(self.record.id))

    def _attempts_sync(self) -> None:
        retrying = False
        while True:
            self.attempts += 1
            cached = self.begin_attempt(retrying)
            if cached is not None:
                break
            token = set_task_run_context(self._task_context())
            try:
                value = call_with_timeout(
                    lambda: call_with(self.task.fn, self.parameters), self.task.timeout_seconds, TaskTimeout
                )
            except BaseException as exc:
                reset_task_run_context(token)
                delay = self.fail(exc)
                if delay is None:
                    if not isinstance(exc, Exception):
                        raise
                    break
                if delay:
                    time.sleep(delay)
                retrying = not delay
                continue
            reset_task_run_context(token)
            self.succeed(value)
            break

    async def run_async(self) -> State[Any]:
        if not await asyncio.to_thread(self.start):
            return self.state
        lease = await asyncio.to_thread(self._take_tag_slots)
        try:
            await self._attempts_async()
        finally:
            if lease is not None:
                await asyncio.to_thread(lease.release)
        self.call_hooks()
        return self.state

    async def _attempts_async(self) -> None:
        retrying = False
        while True:
            self.attempts += 1
            cached = self.begin_attempt(retrying)
            if cached is not None:
                break
            token = set_task_run_context(self._task_context())
            try:
                coro = call_with(self.task.fn, self.parameters)
                value = (
                    await asyncio.wait_for(coro, self.task.timeout_seconds) if self.task.timeout_seconds else await coro
                )
            except BaseException as exc:
                reset_task_run_context(token)
                if isinstance(exc, asyncio.TimeoutError) and self.task.timeout_seconds:
                    exc = TaskTimeout(f"Timed out after {self.task.timeout_seconds} second(s)")
                delay = self.fail(exc)
                if delay is None:
                    if not isinstance(exc, Exception):
                        raise
                    break
                if delay:
                    await asyncio.sleep(delay)
                retrying = not delay
                continue
            reset_task_run_context(token)
            self.succeed(value)
            break

    def run_in_thread(self) -> State[Any]:
        """Entry point for the task runner's threads: async task functions get their own event loop."""
        if self.task.is_async:
            return asyncio.run(self.run_async())
        return self.run()


def _current_tags(flow_ctx: FlowRunContext | None) -> list[str]:
    from ..tags import current_tags

    return list(current_tags())
