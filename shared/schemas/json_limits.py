"""How deeply user JSON may nest before it is stored.

Every reader of a stored body (pydantic's JSON parser, which stops at 200 levels;
jsonable_encoder and our own recursive helpers, which use Python stack frames per
level) must be able to read back what a write accepted. Stored bodies wrap user
JSON in a few levels of their own (run -> state -> data -> ...), so user JSON is
limited well below the tightest reader. The check counts brackets on the raw text
(strings stripped), so it costs one regex pass at most and can never recurse itself.
"""

from __future__ import annotations

import re

# Far above any real parameters/job variables/state data, far below pydantic's 200-level parser limit.
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class JsonTooDeep(ValueError):
    def __init__(self, depth: int) -> None:
        super().__init__(f"JSON nesting depth {depth} exceeds the limit of {MAX_JSON_DEPTH} levels.")
        self.depth = depth


def json_depth(text: str | bytes) -> int:
    """Deepest nesting of arrays/objects in a JSON text (0 for a scalar)."""
    raw = text.encode() if isinstance(text, str) else text
    if b"[" not in raw and b"{" not in raw:
        return 0
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest


def check_json_depth(text: str | bytes) -> None:
    """Raise JsonTooDeep when `text` nests deeper than MAX_JSON_DEPTH."""
    raw = text.encode() if isinstance(text, str) else text
    # Nesting never exceeds the number of opening brackets (those inside strings only add to the count): a
    # text with few of them, every event frame and nearly every request body, needs no regex pass (two
    # C-level counts, ~2 us, where the pass takes ~60 us: most of a websocket frame's own parsing).
    if raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH:
        return
    depth = json_depth(raw)
    if depth > MAX_JSON_DEPTH:
        raise JsonTooDeep(depth)
