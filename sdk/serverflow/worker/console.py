"""What the worker prints: one line per event, with the run, its flow and elapsed time."""

from __future__ import annotations

import sys
import threading
import time

_lock = threading.Lock()


def say(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    with _lock:
        print(f"{stamp} | worker | {message}", file=sys.stdout, flush=True)


def elapsed(since: float) -> str:
    seconds = time.monotonic() - since
    return f"{seconds:.1f}s" if seconds < 120 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
