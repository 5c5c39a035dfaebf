"""Futures returned by ``Task.submit`` / ``Task.map``, plus ``unmapped`` and ``allow_failure`` wrappers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .states import Pending, State

if TYPE_CHECKING:
    import concurrent.futures

R = TypeVar("R")


class TaskRunFuture(Generic[R]):
    """A submitted task run. ``result()`` waits and returns its value (or raises its exception)."""

    def __init__(self, task_run_id: uuid.UUID, future: concurrent.futures.Future[State[R]]) -> None:
        self.task_run_id = task_run_id
        self._future = future

    @property
    def state(self) -> State[R]:
        if self._future.done():
            return self._future.result()
        return Pending()

    def wait(self, timeout: float | None = None) -> None:
        import concurrent.futures

        concurrent.futures.wait([self._future], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> R:
        state = self._future.result(timeout=timeout)
        return state.result(raise_on_failure=raise_on_failure)

    def done(self) -> bool:
        return self._future.done()

    def add_done_callback(self, fn: Any) -> None:
        self._future.add_done_callback(lambda _: fn(self))

    def __repr__(self) -> str:
        return f"TaskRunFuture(task_run_id={self.task_run_id}, state={self.state!r})"


PrefectFuture = TaskRunFuture  # the name prefect code type-hints with


class TaskRunFutureList(list[TaskRunFuture[R]]):
    """What ``.map`` returns: a list of futures with list-wide ``wait`` and ``result``."""

    def wait(self, timeout: float | None = None) -> None:
        import concurrent.futures

        concurrent.futures.wait([f._future for f in self], timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[R]:
        return [f.result(timeout=timeout, raise_on_failure=raise_on_failure) for f in self]


def wait(futures: Iterable[TaskRunFuture[Any]], timeout: float | None = None) -> None:
    import concurrent.futures

    concurrent.futures.wait([f._future for f in futures], timeout=timeout)


def as_completed(futures: Iterable[TaskRunFuture[Any]], timeout: float | None = None) -> Iterable[TaskRunFuture[Any]]:
    import concurrent.futures

    by_inner = {f._future: f for f in futures}
    for inner in concurrent.futures.as_completed(by_inner, timeout=timeout):
        yield by_inner[inner]


class unmapped:
    """Marks a ``.map`` argument as the same for every mapped call (not iterated)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class allow_failure:
    """Wraps an upstream future/state so a downstream task runs even if it failed."""

    def __init__(self, value: Any) -> None:
        self.value = value
