"""The bench's client flow, one definition for every client: N trivial tasks, called in sequence or
submitted, built with the given `flow` and `task` decorators (prefect's or the Serverflow SDK's), so
both clients run exactly the same flow."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def flow_name(mode: str, sdk: bool = False) -> str:
    """The bench flow's name in `mode` (one flow per client and mode, run many times)."""
    return f"bench-sdk-{mode}" if sdk else f"bench-{mode}"


def bench_flow(
    flow: Callable[..., Callable[[Callable[..., Any]], Any]], task: Callable[..., Any], mode: str, name: str
) -> Any:
    @task
    def trivial(i: int) -> int:
        return i

    @flow(name=name)
    def sequential(n: int) -> int:
        return sum(trivial(i) for i in range(n))

    @flow(name=name)
    def submitted(n: int) -> int:
        futures = [trivial.submit(i) for i in range(n)]
        return sum(f.result() for f in futures)

    return sequential if mode == "sequential" else submitted
