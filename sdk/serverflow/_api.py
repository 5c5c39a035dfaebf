"""Which client a module-level helper (variables, blocks, concurrency, events) talks through.

Inside a flow run, the run's own client (one connection pool, the run's API key); outside, a short-lived
client made from the environment and closed after the call.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .context import get_flow_run_context

if TYPE_CHECKING:
    from .client import SyncClient


@contextmanager
def api_client() -> Iterator[SyncClient]:
    ctx = get_flow_run_context()
    if ctx is not None:
        yield ctx.client
        return
    from .client import SyncClient

    with SyncClient() as client:
        yield client
