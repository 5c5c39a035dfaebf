"""Terminal output without a UI dependency: aligned tables, state colours when writing to a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

_COLOURS = {
    "COMPLETED": "32",
    "FAILED": "31",
    "CRASHED": "31",
    "CANCELLED": "90",
    "CANCELLING": "90",
    "RUNNING": "34",
    "PENDING": "33",
    "SCHEDULED": "33",
    "PAUSED": "33",
}


def _tty() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def state_text(state_type: str | None, state_name: str | None) -> str:
    text = state_name or state_type or "-"
    code = _COLOURS.get(state_type or "")
    return f"\x1b[{code}m{text}\x1b[0m" if code and _tty() else text


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def _visible_len(text: str) -> int:
    import re

    return len(re.sub(r"\x1b\[[0-9;]*m", "", text))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None) -> None:
    data = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [_visible_len(r[i]) for r in data]) for i, h in enumerate(headers)]
    if title:
        print(title)
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in data:
        print("  ".join(v + " " * (w - _visible_len(v)) for v, w in zip(row, widths, strict=False)).rstrip())
    if not data:
        print("(none)")


def fields(pairs: Sequence[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in pairs)
    for key, value in pairs:
        print(f"{key.ljust(width)}  {cell(value)}")


def error(message: str) -> None:
    prefix = "\x1b[31mError:\x1b[0m" if sys.stderr.isatty() else "Error:"
    print(f"{prefix} {message}", file=sys.stderr)
