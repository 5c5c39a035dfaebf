"""Entrypoints (``path/to/file.py:flow_function``) resolved inside a source root, never outside it.

A deployment stores its source root as ``path`` and the entrypoint relative to it; the worker loads the
flow from there. A relative path that climbs out of the root (``..``), an absolute path elsewhere, or a
symlink pointing outside is refused, so an entrypoint can only ever run code that was deployed.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any


class UnsafeEntrypoint(ValueError):
    """The entrypoint points outside its source root, or is malformed."""


def split(entrypoint: str) -> tuple[str, str]:
    target, sep, attribute = entrypoint.rpartition(":")
    if not sep or not target or not attribute:
        raise UnsafeEntrypoint(f"entrypoint {entrypoint!r} is not of the form path/to/file.py:flow_function")
    return target, attribute


def confine(path: str | Path, root: str | Path) -> Path:
    """The real path of ``path`` (relative to ``root`` unless absolute), if it lies inside ``root``."""
    base = Path(root).expanduser().resolve()
    candidate = Path(path).expanduser()
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise UnsafeEntrypoint(f"{path} is outside the source root {base}")
    return resolved


def relative_file(path: str | Path, root: str | Path) -> str:
    """``path`` as a POSIX path relative to ``root`` (checked to be inside it)."""
    resolved = confine(path, root)
    return resolved.relative_to(Path(root).expanduser().resolve()).as_posix()


def for_function(fn: Any, root: str | Path) -> str:
    """The entrypoint of a module-level flow function, relative to ``root``."""
    source = inspect.getsourcefile(fn)
    if source is None:
        raise UnsafeEntrypoint(f"cannot find the source file of {fn!r}; pass entrypoint= explicitly")
    if "." in fn.__qualname__ and "<locals>" in fn.__qualname__:
        raise UnsafeEntrypoint(f"{fn.__qualname__} is defined inside a function: a worker cannot import it")
    return f"{relative_file(source, root)}:{fn.__name__}"
