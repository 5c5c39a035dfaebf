"""``@task``: a function whose calls become task runs (retries, caching, results, hooks, futures)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from ._params import bind
from .cache_policies import DEFAULT, NONE, CachePolicy
from .futures import TaskRunFuture, TaskRunFutureList, unmapped

P = ParamSpec("P")
R = TypeVar("R")

_NOTSET: Any = object()

Hook = Callable[..., Any]


class Task(Generic[P, R]):
    def __init__(
        self,
        fn: Callable[P, R],
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        version: str | None = None,
        cache_policy: Any = _NOTSET,
        cache_key_fn: Callable[..., str | None] | None = None,
        cache_expiration: timedelta | None = None,
        task_run_name: str | Callable[[], str] | None = None,
        retries: int | None = None,
        retry_delay_seconds: float | int | list[float] | list[int] | Callable[[int], list[float]] | None = None,
        retry_jitter_factor: float | None = None,
        persist_result: bool | None = None,
        result_storage: str | None = None,
        result_serializer: str | None = None,
        result_storage_key: str | None = None,
        cache_result_in_memory: bool = True,
        timeout_seconds: float | None = None,
        log_prints: bool | None = None,
        refresh_cache: bool | None = None,
        on_completion: list[Hook] | None = None,
        on_failure: list[Hook] | None = None,
        retry_condition_fn: Callable[..., bool] | None = None,
    ) -> None:
        if not callable(fn):
            raise TypeError("@task needs a function")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "task")
        self.description = description or inspect.getdoc(fn)
        self.tags = set(tags or [])
        self.version = version
        self.is_async = inspect.iscoroutinefunction(fn)
        # A cache policy or key function given by the user turns on persistence (prefect semantics).
        self.cache_policy_explicit = cache_key_fn is not None or (
            cache_policy is not _NOTSET and cache_policy is not NONE
        )
        if cache_key_fn is not None:
            self.cache_policy: CachePolicy = CachePolicy.from_cache_key_fn(cache_key_fn)
        elif cache_policy is _NOTSET or cache_policy is None:
            self.cache_policy = DEFAULT
        else:
            self.cache_policy = cache_policy
        if persist_result is False:
            self.cache_policy = NONE
        self.cache_key_fn = cache_key_fn
        self.cache_expiration = cache_expiration
        self.refresh_cache = refresh_cache
        self.task_run_name = task_run_name
        self.retries = retries or 0
        if callable(retry_delay_seconds):
            retry_delay_seconds = retry_delay_seconds(self.retries)
        if isinstance(retry_delay_seconds, list) and len(retry_delay_seconds) > 50:
            raise ValueError("Can not configure more than 50 retry delays per task.")
        if retry_jitter_factor is not None and retry_jitter_factor < 0:
            raise ValueError("`retry_jitter_factor` must be >= 0.")
        self.retry_delay_seconds = retry_delay_seconds
        self.retry_jitter_factor = retry_jitter_factor
        self.persist_result = persist_result
        if persist_result is None and (result_storage or result_serializer or result_storage_key):
            self.persist_result = True
        self.result_storage = result_storage
        self.result_serializer = result_serializer
        self.result_storage_key = result_storage_key
        self.cache_result_in_memory = cache_result_in_memory
        self.timeout_seconds = timeout_seconds
        self.log_prints = log_prints
        self.on_completion_hooks: list[Hook] = list(on_completion or [])
        self.on_failure_hooks: list[Hook] = list(on_failure or [])
        self.retry_condition_fn = retry_condition_fn
        self._init_kwargs = dict(
            name=name,
            description=description,
            tags=tags,
            version=version,
            cache_policy=cache_policy,
            cache_key_fn=cache_key_fn,
            cache_expiration=cache_expiration,
            task_run_name=task_run_name,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            retry_jitter_factor=retry_jitter_factor,
            persist_result=persist_result,
            result_storage=result_storage,
            result_serializer=result_serializer,
            result_storage_key=result_storage_key,
            cache_result_in_memory=cache_result_in_memory,
            timeout_seconds=timeout_seconds,
            log_prints=log_prints,
            refresh_cache=refresh_cache,
            on_completion=on_completion,
            on_failure=on_failure,
            retry_condition_fn=retry_condition_fn,
        )

    @property
    def task_key(self) -> str:
        """Stable identity of the task within its flow: name plus a hash of where it is defined."""
        import hashlib

        where = f"{getattr(self.fn, '__module__', '')}.{getattr(self.fn, '__qualname__', self.name)}"
        return f"{getattr(self.fn, '__qualname__', self.name)}-{hashlib.md5(where.encode(), usedforsecurity=False).hexdigest()[:8]}"

    def with_options(self, **options: Any) -> Task[P, R]:
        return Task(self.fn, **{**self._init_kwargs, **options})

    def on_completion(self, fn: Hook) -> Hook:
        self.on_completion_hooks.append(fn)
        return fn

    def on_failure(self, fn: Hook) -> Hook:
        self.on_failure_hooks.append(fn)
        return fn

    # --- calling -------------------------------------------------------------------------------------------
    def __call__(
        self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None, **kwargs: Any
    ) -> Any:
        from .engine.task_run import TaskRunEngine

        parameters = bind(self.fn, args, kwargs)
        engine = TaskRunEngine(self, parameters, list(wait_for) if wait_for else None)
        if self.is_async:
            return _finish_async(engine, return_state)
        state = engine.run()
        return state if return_state else state.result()

    def submit(
        self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None, **kwargs: Any
    ) -> TaskRunFuture[R]:
        """Run in the flow's task runner (threads); returns a future at once."""
        from .engine.task_run import TaskRunEngine

        parameters = bind(self.fn, args, kwargs)
        return _submit(TaskRunEngine(self, parameters, list(wait_for) if wait_for else None))

    def map(
        self, *args: Any, return_state: bool = False, wait_for: Iterable[Any] | None = None, **kwargs: Any
    ) -> TaskRunFutureList[R]:
        """One submitted task run per element of the iterable arguments; ``unmapped(x)`` stays the same."""
        from .engine.task_run import TaskRunEngine

        parameters = bind(self.fn, args, kwargs)
        iterables: dict[str, list[Any]] = {}
        static: dict[str, Any] = {}
        for name, value in parameters.items():
            if isinstance(value, unmapped):
                static[name] = value.value
            elif isinstance(value, TaskRunFuture):
                iterables[name] = list(value.result())
            elif isinstance(value, (str, bytes, dict)) or not _iterable(value):
                static[name] = value
            else:
                iterables[name] = list(value)
        if not iterables:
            raise ValueError(f"Task {self.name!r}: .map() needs at least one iterable argument.")
        lengths = {len(v) for v in iterables.values()}
        if len(lengths) > 1:
            raise ValueError(f"Task {self.name!r}: .map() received iterables of different lengths: {sorted(lengths)}")
        futures: TaskRunFutureList[R] = TaskRunFutureList()
        wait = list(wait_for) if wait_for else None
        for i in range(lengths.pop()):
            call_params = {**static, **{k: v[i] for k, v in iterables.items()}}
            ordered = {name: call_params[name] for name in parameters}
            futures.append(_submit(TaskRunEngine(self, ordered, wait)))
        return futures

    def __repr__(self) -> str:
        return f"Task(name={self.name!r})"


def _iterable(value: Any) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _submit(engine: Any) -> TaskRunFuture[Any]:
    import contextvars

    from .context import get_flow_run_context

    flow_ctx = get_flow_run_context()
    executor = flow_ctx.executor() if flow_ctx else _fallback_executor()
    ctx = contextvars.copy_context()
    inner = executor.submit(ctx.run, engine.run_in_thread)
    if flow_ctx is not None:
        flow_ctx.track(inner)
    return TaskRunFuture(engine.record.id, inner)


_executor: Any = None


def _fallback_executor() -> Any:
    global _executor
    if _executor is None:
        from concurrent.futures import ThreadPoolExecutor

        _executor = ThreadPoolExecutor(thread_name_prefix="serverflow-task")
    return _executor


async def _finish_async(engine: Any, return_state: bool) -> Any:
    state = await engine.run_async()
    return state if return_state else state.result()


@overload
def task(__fn: Callable[P, R]) -> Task[P, R]: ...


@overload
def task(**kwargs: Any) -> Callable[[Callable[P, R]], Task[P, R]]: ...


def task(__fn: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """Decorator, with or without arguments: ``@task`` or ``@task(retries=2, ...)``."""
    if __fn is not None:
        return Task(__fn, **kwargs)
    return lambda fn: Task(fn, **kwargs)
