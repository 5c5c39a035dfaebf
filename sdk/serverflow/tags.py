"""``with tags("a", "b"):`` adds tags to every flow and task run created inside the block."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_tags: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("serverflow_tags", default=frozenset())


def current_tags() -> frozenset[str]:
    return _tags.get()


@contextlib.contextmanager
def tags(*names: str) -> Iterator[frozenset[str]]:
    token = _tags.set(_tags.get() | frozenset(names))
    try:
        yield _tags.get()
    finally:
        _tags.reset(token)
