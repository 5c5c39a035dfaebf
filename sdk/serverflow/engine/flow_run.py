"""Flow run engine: flow-run states go through the server (``set_state``), which may ACCEPT, REJECT (e.g. Failed
-> AwaitingRetry for flow retries), ask us to WAIT, or ABORT the run."""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from .._ids import slug
from .._params import call_with, run_name
from .._shipper import get_shipper
from ..cache_policies import stable_hash
from ..client import SyncClient
from ..client.models import FlowRun
from ..context import (
    FlowRunContext,
    get_flow_run_context,
    reset_flow_run_context,
    set_flow_run_context,
)
from ..exceptions import Abort, FlowTimeout
from ..futures import TaskRunFuture
from ..logging import flow_run_logger, patch_print
from ..results import ResultStore
from ..settings import get_settings
from ..states import Completed, Crashed, Failed, Pending, Running, State, TimedOut
from ..tags import current_tags

if TYPE_CHECKING:
    from ..flows import Flow

# A worker starts a flow-run process with the run's id in the environment; the first top-level flow call
# in that process executes that run instead of creating a new one.
_FLOW_RUN_ID_VARS = ("SERVERFLOW__FLOW_RUN_ID", "PREFECT__FLOW_RUN_ID")
_env_run_consumed = False


def _flow_run_id_from_env() -> str | None:
    global _env_run_consumed
    if _env_run_consumed:
        return None
    for name in _FLOW_RUN_ID_VARS:
        if os.environ.get(name):
            _env_run_consumed = True
            return os.environ[name]
    return None


class FlowRunEngine:
    def __init__(
        self,
        flow: Flow[..., Any],
        parameters: dict[str, Any],
        wait_for: list[Any] | None = None,
        flow_run_id: str | None = None,
    ) -> None:
        self.flow = flow
        self.parameters = parameters
        self.wait_for = wait_for
        self.parent_ctx = get_flow_run_context()
        self.flow_run_id = flow_run_id or (None if self.parent_ctx else _flow_run_id_from_env())
        self.settings = get_settings()
        self.client: SyncClient = None  # type: ignore[assignment]  # set as the run starts, before anything reads it
        self.flow_run: FlowRun = None  # type: ignore[assignment]  # set as the run starts, before anything reads it
        self.state: State[Any] = Pending()
        self.reused: State[Any] | None = None
        self.ctx: FlowRunContext | None = None
        self.deployment: dict[str, Any] | None = None
        self._owns_client = False

    # --- setup ---------------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Create (or load) the flow run and, for a subflow, its parent task run. Fails fast if the API is down."""
        if self.parent_ctx is not None:
            self.client = self.parent_ctx.client
        else:
            self.client = SyncClient()
            self._owns_client = True
        self.events = get_shipper("events", self.client.api_url, self.settings.api_key)
        self.logs = (
            get_shipper("logs", self.client.api_url, self.settings.api_key) if self.settings.log_to_api else None
        )
        self.result_store = ResultStore(
            self.flow.result_storage or (self.parent_ctx.result_store.location if self.parent_ctx else None),
            self.flow.result_serializer or "pickle",
        )
        if self.wait_for:
            from .task_run import resolve_parameters

            resolve_parameters({}, self.wait_for)

        if self.flow_run_id:
            self.flow_run = self.client.read_flow_run(self.flow_run_id)
            self._adopt_flow_retry_policy()
            if not self.parameters:
                self.parameters = self.flow.validate(dict(self.flow_run.parameters))
            if self.flow_run.deployment_id:
                try:
                    deployment = self.client.read_deployment(self.flow_run.deployment_id)
                    self.deployment = deployment.model_dump(mode="json")
                except Exception:  # noqa: BLE001 - an unreadable deployment leaves only its id in the context
                    self.deployment = {"id": str(self.flow_run.deployment_id)}
        else:
            flow_model = self.client.create_flow(self.flow.name)
            parent_task_run_id: str | None = None
            if self.parent_ctx is not None:
                parent_task_run_id = self._create_parent_task_run(self.parent_ctx)
                existing = self._load_subflow_run(parent_task_run_id)
                if existing is not None:
                    return
            self.flow_run = self.client.create_flow_run(
                {
                    "flow_id": str(flow_model.id),
                    "name": run_name(self.flow.flow_run_name, self.parameters) or slug(),
                    "parameters": self.flow.serialize_parameters(self.parameters),
                    "context": {},
                    "tags": sorted(set(self.flow.tags) | set(current_tags())),
                    "parent_task_run_id": parent_task_run_id,
                    "empirical_policy": {
                        "retries": self.flow.retries,
                        "retry_delay": int(self.flow.retry_delay_seconds or 0),
                    },
                    "state": Pending().to_create(),
                }
            )
        self.logger = flow_run_logger(self.flow_run.id, self.flow_run.name, self.flow.name, self.logs)
        if self.flow.log_prints:
            patch_print()

    def _adopt_flow_retry_policy(self) -> None:
        """A deployment run created without a retry policy takes the flow's, as prefect does,
        so ``@flow(retries=...)`` holds for runs a worker executes."""
        policy = self.flow_run.empirical_policy.model_dump(mode="json")
        changed = False
        if policy.get("retries") is None and self.flow.retries:
            policy["retries"], changed = self.flow.retries, True
        delay = self.flow.retry_delay_seconds
        if policy.get("retry_delay") is None and isinstance(delay, (int, float)) and delay:
            policy["retry_delay"], changed = int(delay), True
        if changed:
            self.client.request("PATCH", f"/flow_runs/{self.flow_run.id}", json={"empirical_policy": policy})
            self.flow_run = self.client.read_flow_run(self.flow_run.id)

    def _create_parent_task_run(self, parent: FlowRunContext) -> str:
        """The task run in the parent flow that stands for this subflow call (``POST /task_runs/``, as prefect).

        Its dynamic key is a hash of the subflow's inputs plus an occurrence number among calls with the same
        inputs, not the call position: when concurrent subflows are started in a different order on a parent
        retry, each still finds its own earlier run and result (prefect issue #22259).
        """
        task_key = f"{self.flow.name}-{stable_hash(self.flow.fn.__module__, self.flow.fn.__qualname__)[:8]}"
        inputs_hash = stable_hash(self.flow.serialize_parameters(self.parameters))[:16]
        occurrence = parent.next_subflow_occurrence(f"{task_key}:{inputs_hash}")
        dynamic_key = f"{inputs_hash}-{occurrence}"
        from .task_run import collect_task_inputs

        task_run = self.client.create_task_run(
            {
                "name": f"{self.flow.name}-{inputs_hash[:6]}-{occurrence}",
                "flow_run_id": str(parent.flow_run.id),
                "task_key": task_key,
                "dynamic_key": dynamic_key,
                "tags": sorted(set(current_tags())),
                "task_version": self.flow.version,
                "empirical_policy": {"retries": 0, "retry_delay": 0},
                "task_inputs": collect_task_inputs(self.parameters, self.wait_for),
                "state": Pending().to_create(),
            }
        )
        return str(task_run.id)

    def _load_subflow_run(self, parent_task_run_id: str) -> FlowRun | None:
        """A retried parent reuses a completed subflow's persisted result, or reattaches to an unfinished one."""
        runs = self.client.read_flow_runs(
            {"parent_task_run_id": {"any_": [parent_task_run_id]}}, sort="EXPECTED_START_TIME_DESC", limit=1
        )
        if not runs or runs[0].state is None:
            return None
        run = runs[0]
        state = State.from_api(run.state)
        if state.is_completed() and state.data:
            self.flow_run = run
            self.reused = state
            self.state = state
            self.logger = flow_run_logger(run.id, run.name, self.flow.name, self.logs)
            self.logger.info("Reusing the result of completed subflow run %r", run.name)
            return run
        if not state.is_final():
            self.flow_run = run  # reattach (e.g. the parent process restarted); proceed from its state
            return None
        return None

    # --- orchestration -------------------------------------------------------------------------------------
    def propose(self, state: State[Any], force: bool = False) -> State[Any]:
        """Ask the server for a transition. WAIT sleeps and asks again; ABORT raises; REJECT adopts its state."""
        while True:
            result = self.client.set_flow_run_state(self.flow_run.id, state.to_create(), force=force)
            if result.status == "WAIT":
                delay = result.delay_seconds
                self.logger.info("Received wait instruction for %ss: %s", delay, result.reason or "")
                time.sleep(max(0.0, delay))
                continue
            if result.status == "ABORT":
                raise Abort(f"The server aborted the transition to {state.name}: {result.reason}")
            server_state = State.from_api(result.state) if result.state is not None else state
            if result.status == "ACCEPT" and state.has_value:
                server_state.set_value(state._value)
            if result.status == "ACCEPT" and state.data and not server_state.data:
                server_state.data = state.data
            self.state = server_state
            if result.status == "REJECT":
                self.logger.debug(
                    "Proposed %s, the server answered %s (%s)", state.name, server_state.name, result.reason
                )
            return server_state

    def begin_attempt(self) -> bool:
        """Move to Running. False if the server put the run in a final state instead."""
        state = self.propose(Running())
        while not state.is_running():
            if state.is_final():
                return False
            state = self.propose(Running())
        # The server counts an attempt when the run enters Running; mirror it instead of re-reading the run.
        self.flow_run.run_count += 1
        self.ctx = FlowRunContext(
            flow=self.flow,
            flow_run=self.flow_run,
            client=self.client,
            parameters=self.parameters,
            result_store=self.result_store,
            events=self.events,
            persist_result=self.flow.persist_result
            if self.flow.persist_result is not None
            else (self.parent_ctx.persist_result if self.parent_ctx else (self.settings.persist_results or None)),
            log_prints=bool(
                self.flow.log_prints
                if self.flow.log_prints is not None
                else (self.parent_ctx.log_prints if self.parent_ctx else False)
            ),
            deployment=self.deployment,
            logger=self.logger,
            logs=self.logs,
        )
        return True

    def final_state_for(self, value: Any) -> State[Any]:
        """Prefect's return-value rules: a returned state or future decides the run's state."""
        if isinstance(value, TaskRunFuture):
            value.wait()
            value = value.state
        if isinstance(value, State):
            return value.copy()
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, (State, TaskRunFuture)) for v in value):
            states = [v.state if isinstance(v, TaskRunFuture) else v for v in value]
            failed = [s for s in states if not s.is_completed()]
            if failed:
                return Failed(message=f"{len(failed)}/{len(states)} states failed.")
            return Completed([s.result() for s in states])
        state = Completed(value)
        if self.ctx is not None and self.ctx.persist_result:
            try:
                state.data = self.result_store.write(f"flow-runs/{self.flow_run.id}", value)
            except Exception as exc:  # noqa: BLE001 - an unpersisted result is logged; the run's state stands
                self.logger.warning("Could not persist the flow result: %s", exc)
        return state

    def failed_state_for(self, exc: BaseException) -> State[Any]:
        if isinstance(exc, FlowTimeout):
            self.logger.error("Flow run exceeded timeout of %s second(s)", self.flow.timeout_seconds)
            return TimedOut(exc, message=f"Flow run exceeded timeout of {self.flow.timeout_seconds} second(s)")
        self.logger.error("Encountered exception during execution: %r", exc, exc_info=exc)
        return Failed(exc, message=f"Flow run encountered an exception: {type(exc).__name__}: {exc}")

    def end_attempt(self) -> None:
        """Let submitted tasks finish before the final state. Their events and the logs keep leaving in the
        background (batches every flush interval) and are not waited for here, as prefect's engine does not wait
        for its events worker: a flow costs its own work, not the server's storing; the process exit drains what
        is left, and ``serverflow.flush()`` waits for it where a process may be frozen instead (a Lambda)."""
        if self.ctx is not None:
            self.ctx.shutdown()

    def finish(self, proposed: State[Any]) -> bool:
        """Propose the attempt's final state. True when the run is over; False when the server scheduled a retry."""
        self.end_attempt()
        state = self.propose(proposed)
        if state.is_scheduled():
            self.logger.info(
                "Received non-final state %r when proposing final state %r and will attempt to run again...",
                state.name,
                proposed.name,
            )
            return False
        if not state.has_value and proposed.has_value:
            state.set_value(proposed._value)
        self.logger.info("Finished in state %r", state)
        return True

    def crash(self, exc: BaseException) -> None:
        self.end_attempt()
        try:
            self.propose(Crashed(exc, message=f"Execution was interrupted by {type(exc).__name__}"), force=True)
        except Exception:  # noqa: BLE001 - already crashing: reporting it must not raise over the original
            pass

    def call_hooks(self) -> None:
        state = self.state
        if state.is_completed():
            hooks = self.flow.on_completion_hooks
        elif state.is_failed():
            hooks = self.flow.on_failure_hooks
        elif state.is_crashed():
            hooks = self.flow.on_crashed_hooks
        elif state.is_cancelled():
            hooks = self.flow.on_cancellation_hooks
        else:
            hooks = []
        for hook in hooks:
            try:
                hook(self.flow, self.flow_run, state)
            except Exception as exc:  # noqa: BLE001 - a user hook's failure is logged, as Prefect does
                self.logger.error("Hook %r failed: %r", getattr(hook, "__name__", hook), exc)

    def close(self) -> None:
        if self._owns_client:
            # Queued events/logs keep draining in the background; the interpreter's exit waits for them.
            self.client.close()

    # --- drivers -------------------------------------------------------------------------------------------
    def run(self) -> State[Any]:
        from .._timeout import call_with_timeout

        self.setup()
        try:
            if self.reused is not None:
                return self.reused
            while self.begin_attempt():
                assert self.ctx is not None
                token = set_flow_run_context(self.ctx)
                try:
                    value = call_with_timeout(
                        lambda: call_with(self.flow.fn, self.parameters), self.flow.timeout_seconds, FlowTimeout
                    )
                    proposed = self.final_state_for(value)
                except Exception as exc:  # noqa: BLE001 - any user-code failure becomes the run's Failed state
                    proposed = self.failed_state_for(exc)
                except BaseException as exc:
                    reset_flow_run_context(token)
                    self.crash(exc)
                    raise
                reset_flow_run_context(token)
                if self.finish(proposed):
                    break
            self.call_hooks()
            return self.state
        finally:
            self.close()

    async def run_async(self) -> State[Any]:
        await asyncio.to_thread(self.setup)
        try:
            if self.reused is not None:
                return self.reused
            while await asyncio.to_thread(self.begin_attempt):
                assert self.ctx is not None
                token = set_flow_run_context(self.ctx)
                try:
                    coro = call_with(self.flow.fn, self.parameters)
                    if self.flow.timeout_seconds:
                        try:
                            value = await asyncio.wait_for(coro, self.flow.timeout_seconds)
                        except TimeoutError:
                            raise FlowTimeout(f"Timed out after {self.flow.timeout_seconds} second(s)") from None
                    else:
                        value = await coro
                    proposed = self.final_state_for(value)
                except Exception as exc:  # noqa: BLE001 - any user-code failure becomes the run's Failed state
                    proposed = self.failed_state_for(exc)
                except BaseException as exc:
                    reset_flow_run_context(token)
                    await asyncio.to_thread(self.crash, exc)
                    raise
                reset_flow_run_context(token)
                if await asyncio.to_thread(self.finish, proposed):
                    break
            self.call_hooks()
            return self.state
        finally:
            await asyncio.to_thread(self.close)
