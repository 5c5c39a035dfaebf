"""Identifiers and generated names."""

from __future__ import annotations

import os
import random
import time
import uuid

_ADJECTIVES = (
    "amber",
    "brave",
    "calm",
    "daring",
    "eager",
    "fancy",
    "gentle",
    "happy",
    "icy",
    "jolly",
    "keen",
    "lively",
    "mellow",
    "noble",
    "olive",
    "proud",
    "quick",
    "rapid",
    "silent",
    "tidy",
    "upbeat",
    "vivid",
    "witty",
    "young",
    "zesty",
    "bold",
    "crisp",
    "dusty",
    "fuzzy",
    "golden",
)
_NOUNS = (
    "otter",
    "falcon",
    "badger",
    "heron",
    "lynx",
    "marten",
    "osprey",
    "panda",
    "quail",
    "raven",
    "stork",
    "tapir",
    "urchin",
    "vole",
    "walrus",
    "yak",
    "zebra",
    "bison",
    "coyote",
    "dingo",
    "egret",
    "ferret",
    "gecko",
    "hyena",
    "ibis",
    "jackal",
    "koala",
    "lemur",
    "moose",
    "newt",
)


def uuid7() -> uuid.UUID:
    """Time-ordered UUID (RFC 9562 v7), like the ids prefect generates client-side.

    Sorting by id then follows creation order, which keeps the server's event ordering stable.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return uuid.UUID(int=value)


def slug() -> str:
    """A readable two-word run name, like prefect's default flow-run names."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}"
