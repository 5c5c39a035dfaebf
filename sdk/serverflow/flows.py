"""``@flow``: a function whose calls become flow runs orchestrated by the API (states, retries, subflows)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, ParamSpec, TypeVar, overload

from ._params import bind, jsonable, validate

P = ParamSpec("P")
R = TypeVar("R")
Hook = Callable[..., Any]


class ThreadPoolTaskRunner:
    """Prefect's default task runner (threads); only ``max_workers`` is configurable."""

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers


class Flow(Generic[P, R]):
    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        version: str | None = None,
        flow_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: int | float | None = None,
        task_runner: ThreadPoolTaskRunner | None = None,
        description: str | None = None,
        timeout_seconds: int | float | None = None,
        validate_parameters: bool = True,
        persist_result: bool | None = None,
        result_storage: str | None = None,
        result_serializer: str | None = None,
        cache_result_in_memory: bool = True,
        log_prints: bool | None = None,
        tags: Iterable[str] | None = None,
        on_completion: list[Hook] | None = None,
        on_failure: list[Hook] | None = None,
        on_cancellation: list[Hook] | None = None,
        on_crashed: list[Hook] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError("@flow needs a function")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "flow").replace("_", "-")
        self.version = version
        self.flow_run_name = flow_run_name
        self.retries = retries or 0
        self.retry_delay_seconds = retry_delay_seconds or 0
        self.task_runner_max_workers = task_runner.max_workers if task_runner else None
        self.description = description or inspect.getdoc(fn)
        self.timeout_seconds = timeout_seconds
        self.should_validate_parameters = validate_parameters
        self.persist_result = persist_result
        if persist_result is None and (result_storage or result_serializer):
            self.persist_result = True
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.cache_result_in_memory = cache_result_in_memory
        self.log_prints = log_prints
        self.tags = set(tags or [])
        self.is_async = inspect.iscoroutinefunction(fn)
        self.on_completion_hooks: list[Hook] = list(on_completion or [])
        self.on_failure_hooks: list[Hook] = list(on_failure or [])
        self.on_cancellation_hooks: list[Hook] = list(on_cancellation or [])
        self.on_crashed_hooks: list[Hook] = list(on_crashed or [])
        self._init_kwargs = dict(
            name=name,
            version=version,
            flow_run_name=flow_run_name,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            task_runner=task_runner,
            description=description,
            timeout_seconds=timeout_seconds,
            validate_parameters=validate_parameters,
            persist_result=persist_result,
            result_storage=result_storage,
            result_serializer=result_serializer,
            cache_result_in_memory=cache_result_in_memory,
            log_prints=log_prints,
            tags=tags,
            on_completion=on_completion,
            on_failure=on_failure,
            on_cancellation=on_cancellation,
            on_crashed=on_crashed,
        )

    def with_options(self, **options: Any) -> Flow[P, R]:
        return Flow(self.fn, **{**self._init_kwargs, **options})

    def on_completion(self, fn: Hook) -> Hook:
        self.on_completion_hooks.append(fn)
        return fn

    def on_failure(self, fn: Hook) -> Hook:
        self.on_failure_hooks.append(fn)
        return fn

    def on_crashed(self, fn: Hook) -> Hook:
        self.on_crashed_hooks.append(fn)
        return fn

    def on_cancellation(self, fn: Hook) -> Hook:
        self.on_cancellation_hooks.append(fn)
        return fn

    def validate(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return validate(self.fn, parameters) if self.should_validate_parameters else parameters

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in parameters.items()}

    def __call__(
        self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None, **kwargs: Any
    ) -> Any:
        from .engine.flow_run import FlowRunEngine

        parameters = self.validate(bind(self.fn, args, kwargs))
        engine = FlowRunEngine(self, parameters, list(wait_for) if wait_for else None)
        if self.is_async:
            return _finish_async(engine, return_state)
        state = engine.run()
        return state if return_state else state.result()

    def run_existing(self, flow_run_id: str, return_state: bool = True) -> Any:
        """Execute an already created flow run (what a worker does for a deployment run)."""
        from .engine.flow_run import FlowRunEngine

        engine = FlowRunEngine(self, {}, flow_run_id=flow_run_id)
        if self.is_async:
            import asyncio

            state = asyncio.run(engine.run_async())
        else:
            state = engine.run()
        return state if return_state else state.result()

    def deploy(self, name: str, work_pool_name: str | None = None, **options: Any) -> str:
        """Create or update the deployment ``<flow name>/<name>`` run by ``work_pool_name``'s workers; returns
        its id. Options: see ``serverflow.deployments.apply`` (schedules, parameters, job_variables, tags,
        concurrency_limit, triggers, entrypoint, source_root, ...)."""
        from .deployments import apply

        return apply(self, name, work_pool_name, **options)

    def serve(self, name: str, **options: Any) -> int:
        """Create the deployment and execute its scheduled runs in this process until stopped (Ctrl-C).
        Options: ``limit``, ``poll_seconds``, ``stop_after`` and those of ``deploy``."""
        from .serve import serve

        return serve(self, name, **options)

    def __repr__(self) -> str:
        return f"Flow(name={self.name!r})"


async def _finish_async(engine: Any, return_state: bool) -> Any:
    state = await engine.run_async()
    return state if return_state else state.result()


@overload
def flow(__fn: Callable[P, R]) -> Flow[P, R]: ...


@overload
def flow(**kwargs: Any) -> Callable[[Callable[P, R]], Flow[P, R]]: ...


def flow(__fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Decorator, with or without arguments: ``@flow`` or ``@flow(retries=1, log_prints=True, ...)``."""
    if __fn is not None:
        return Flow(__fn, **kwargs)
    return lambda fn: Flow(fn, **kwargs)
