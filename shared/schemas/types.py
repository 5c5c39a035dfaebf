"""Reusable field types: names, labels, datetimes, run-name slugs, UUIDv7 ids.

These encode the reference API's input rules once so every model that has a
"name" or "labels" field rejects/normalises input the same way (422 on bad input).
"""

from __future__ import annotations

import datetime
import json
import os
import random
import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictFloat, StrictInt

# --- datetimes ---------------------------------------------------------------


def _assume_utc(value: datetime.datetime) -> datetime.datetime:
    # The reference treats naive datetimes as UTC; storing naive values would make
    # comparisons with aware ones raise TypeError in filters and sorts.
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    try:
        # Keys and sorts use the UTC instant: 0001-01-01T00:00+05:00 has none (a 422, not a 500).
        value.astimezone(datetime.UTC)
    except OverflowError:
        raise ValueError("Datetime is out of range once converted to UTC") from None
    return value


DateTime = Annotated[datetime.datetime, AfterValidator(_assume_utc)]


def now_utc() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- names -------------------------------------------------------------------

# Characters that would break URL paths such as /flows/name/{name}.
BANNED_NAME_CHARACTERS = ("/", "%", "&", ">", "<")
NAME_PATTERN = r"^[^/%&><]+$"
NAME_OR_EMPTY_PATTERN = r"^[^/%&><]*$"

Name = Annotated[str, Field(pattern=NAME_PATTERN)]
NameOrEmpty = Annotated[str, Field(pattern=NAME_OR_EMPTY_PATTERN)]


def _reject_blankish(value: Any) -> Any:
    # Names made only of spaces and quotes are rejected (e.g. work pool names).
    if isinstance(value, str) and not value.strip("' \""):
        raise ValueError("name cannot be an empty string")
    return value


NonEmptyishName = Annotated[str, Field(pattern=NAME_PATTERN), BeforeValidator(_reject_blankish)]

_LOWER_DASHES = re.compile(r"^[a-z0-9-]*$")


def _lowercase_dashes_only(field_label: str) -> Callable[[str | None], str | None]:
    def check(value: str | None) -> str | None:
        if value is not None and not _LOWER_DASHES.match(value):
            raise ValueError(f"{field_label} must only contain lowercase letters, numbers, and dashes.")
        return value

    return check


# Artifact keys become part of URLs (/artifacts/{key}/latest).
ArtifactKey = Annotated[str, AfterValidator(_lowercase_dashes_only("Artifact key"))]

NonNegativeInteger = Annotated[int, Field(ge=0)]
PositiveInteger = Annotated[int, Field(gt=0)]

# --- labels ------------------------------------------------------------------


def _none_to_empty_dict(value: Any) -> Any:
    return {} if value is None else value


# Strict scalars so "1" stays a string and true stays a bool when round-tripped.
LabelValue = StrictBool | StrictInt | StrictFloat | str
KeyValueLabels = Annotated[dict[str, LabelValue], BeforeValidator(_none_to_empty_dict)]

# --- parameters size ---------------------------------------------------------

# Reference default for server.api.max_parameter_size (bytes of compact JSON); 0 disables.
MAX_PARAMETER_SIZE = int(os.environ.get("SERVERFLOW_MAX_PARAMETER_SIZE", "524288"))


def _check_parameter_size(parameters: dict[str, Any]) -> dict[str, Any]:
    if MAX_PARAMETER_SIZE <= 0 or not parameters:
        return parameters
    size = len(json.dumps(parameters, separators=(",", ":"), default=str).encode())
    if size > MAX_PARAMETER_SIZE:
        raise ValueError(
            f"Flow run parameters must be less than {MAX_PARAMETER_SIZE:,} bytes when serialized (got {size:,} bytes)."
        )
    return parameters


SizedParameters = Annotated[dict[str, Any], AfterValidator(_check_parameter_size)]

# Reference default for server.tasks.max_cache_key_length.
MAX_CACHE_KEY_LENGTH = int(os.environ.get("SERVERFLOW_MAX_CACHE_KEY_LENGTH", "2000"))


def check_cache_key_length(cache_key: str | None) -> str | None:
    if cache_key and len(cache_key) > MAX_CACHE_KEY_LENGTH:
        raise ValueError(f"Cache key exceeded maximum allowed length of {MAX_CACHE_KEY_LENGTH} characters.")
    return cache_key


# --- ids ---------------------------------------------------------------------


def uuid7() -> UUID:
    """A time-ordered UUID (RFC 9562 v7), as the reference uses for runs, states and logs.

    Time ordering keeps DynamoDB sort keys built from ids roughly chronological.
    """
    return _uuid7(time.time_ns() // 1_000_000, random.getrandbits(12), random.getrandbits(62))


def _uuid7(ms: int, rand_a: int, rand_b: int) -> UUID:
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rand_a << 64
    value |= 0b10 << 62
    value |= rand_b
    return UUID(int=value)


# --- run names ---------------------------------------------------------------

# Our own small vocabulary: run names only need to be readable and varied.
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
    "nimble",
    "olive",
    "proud",
    "quick",
    "rustic",
    "silver",
    "tidy",
    "upbeat",
    "vivid",
    "witty",
    "young",
    "zesty",
    "bold",
    "crimson",
    "dusty",
    "electric",
    "fuzzy",
    "golden",
    "hidden",
    "ivory",
    "jade",
    "kind",
    "lucky",
    "misty",
    "noble",
    "opal",
    "polite",
)
_NOUNS = (
    "otter",
    "falcon",
    "badger",
    "heron",
    "lynx",
    "marmot",
    "newt",
    "orca",
    "panda",
    "quail",
    "raven",
    "salmon",
    "tapir",
    "urchin",
    "vole",
    "walrus",
    "yak",
    "zebra",
    "beaver",
    "cougar",
    "dingo",
    "egret",
    "ferret",
    "gecko",
    "hare",
    "ibis",
    "jackal",
    "koala",
    "lemur",
    "moose",
    "narwhal",
    "ocelot",
    "puffin",
    "robin",
    "seal",
    "toucan",
    "viper",
    "wombat",
    "bison",
    "crane",
)


def generate_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}"


def run_name_or_generated(value: Any) -> Any:
    # The reference turns a missing, null or empty name into a random slug.
    return value or generate_run_name()


RunName = Annotated[str, BeforeValidator(run_name_or_generated)]
