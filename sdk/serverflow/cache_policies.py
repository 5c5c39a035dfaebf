"""Cache policies: how a task's cache key is computed (Prefect names, so imports port unchanged).

``INPUTS`` hashes the task's parameters; ``TASK_SOURCE`` the function's source; ``RUN_ID`` the flow run id.
``DEFAULT`` is ``INPUTS + TASK_SOURCE + RUN_ID`` like prefect: a cache that only spans one flow run.
Policies combine with ``+``. A ``cache_key_fn(context, parameters)`` replaces the policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import TaskRunContext


def stable_hash(*parts: Any) -> str:
    """Hash of arbitrary values: JSON-like values hash by value, others by their pickle."""
    import hashlib  # lazy: keeps `import serverflow` cheap
    import json
    import pickle

    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        try:
            encoded = json.dumps(part, sort_keys=True, default=repr).encode()
        except (TypeError, ValueError):
            encoded = pickle.dumps(part)
        digest.update(encoded)
    return digest.hexdigest()


@dataclass(frozen=True)
class CachePolicy:
    parts: tuple[str, ...]
    key_fn: Callable[[TaskRunContext, dict[str, Any]], str | None] | None = None

    def __add__(self, other: CachePolicy) -> CachePolicy:
        return CachePolicy(tuple(dict.fromkeys(self.parts + other.parts)), self.key_fn or other.key_fn)

    def compute_key(self, context: TaskRunContext, parameters: dict[str, Any]) -> str | None:
        if self.key_fn is not None:
            return self.key_fn(context, parameters)
        if not self.parts:
            return None
        pieces: list[Any] = []
        for part in self.parts:
            if part == "inputs":
                pieces.append(dict(parameters))
            elif part == "task_source":
                import inspect

                try:
                    pieces.append(inspect.getsource(context.task.fn))
                except (OSError, TypeError):
                    pieces.append(context.task.fn.__qualname__)
            elif part == "run_id":
                pieces.append(str(context.task_run.flow_run_id))
        return stable_hash(*pieces)

    @classmethod
    def from_cache_key_fn(cls, fn: Callable[[TaskRunContext, dict[str, Any]], str | None]) -> CachePolicy:
        return cls(("key_fn",), fn)


NONE = CachePolicy(())
NO_CACHE = NONE
INPUTS = CachePolicy(("inputs",))
TASK_SOURCE = CachePolicy(("task_source",))
RUN_ID = CachePolicy(("run_id",))
DEFAULT = INPUTS + TASK_SOURCE + RUN_ID
