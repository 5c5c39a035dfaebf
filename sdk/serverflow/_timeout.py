"""``timeout_seconds`` for sync functions.

In the main thread an interval timer (SIGALRM) interrupts even blocking calls such as ``time.sleep``. Elsewhere
(task runner threads) the timeout exception is injected into the running thread, which takes effect at its next
Python bytecode, the same limitation prefect has for threaded tasks.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def call_with_timeout(fn: Callable[[], T], seconds: float | None, exc_type: type[BaseException]) -> T:
    if not seconds:
        return fn()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_alarm(fn, seconds, exc_type)
    return _with_async_exc(fn, seconds, exc_type)


def _with_alarm(fn: Callable[[], T], seconds: float, exc_type: type[BaseException]) -> T:
    """Nest with an enclosing timer (an outer flow's, or a test runner's): the earlier deadline fires first,
    and the outer timer is re-armed with its remaining time afterwards."""
    import time

    outer_remaining = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer_remaining and outer_remaining <= seconds:
        return fn()  # the enclosing deadline comes first anyway

    def on_alarm(signum: int, frame: Any) -> None:
        raise exc_type(f"Timed out after {seconds} second(s)")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_remaining:
            elapsed = time.monotonic() - started
            signal.setitimer(signal.ITIMER_REAL, max(0.001, outer_remaining - elapsed))


def _with_async_exc(fn: Callable[[], T], seconds: float, exc_type: type[BaseException]) -> T:
    target = threading.get_ident()
    lock = threading.Lock()
    finished = False

    def fire() -> None:
        with lock:
            if not finished:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(exc_type))

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        return fn()
    finally:
        with lock:
            finished = True
        timer.cancel()
