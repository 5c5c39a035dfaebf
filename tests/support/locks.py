"""The pins of a lock file (requirements/*.lock, requirements.txt)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def locked(lock: Path) -> dict[str, str]:
    """name -> version of the lock's pins that apply to this interpreter (markers evaluated here)."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate():
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"{lock.name} pins with ==: {line}"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins
