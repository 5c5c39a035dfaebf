"""Masking of a block document's secret fields, as the schema's `secret_fields` declare them.

`secret_fields` holds dotted paths into the data (`password`, `auth.token`, `headers.*`).
Reads without `include_secrets` replace those values with `********`; an update that posts a
masked value back (a UI round-trip) keeps the stored secret instead of saving the mask.
"""

from __future__ import annotations

from typing import Any

OBFUSCATED = "********"
Path = tuple[str, ...]


def flatten(data: dict[str, Any], parent: Path = ()) -> dict[Path, Any]:
    """Nested dict -> {key path: leaf}; an empty dict is a leaf."""
    flat: dict[Path, Any] = {}
    for key, value in data.items():
        path = (*parent, key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, path))
        else:
            flat[path] = value
    return flat


def unflatten(flat: dict[Path, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for path, value in flat.items():
        current = nested
        for key in path[:-1]:
            current = current.setdefault(key, {})
        current[path[-1]] = value
    return nested


def _under_wildcard(secret: Path, path: Path) -> bool:
    cut = secret.index("*")
    return secret[:cut] == path[:cut]


def mask(data: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    """`data` with every secret value replaced by the mask."""
    if not secret_fields:
        return data
    flat = flatten(data)
    for field in secret_fields:
        secret = tuple(field.split("."))
        if flat.get(secret) is not None:
            flat[secret] = OBFUSCATED
        elif "*" in secret:
            for path in flat:
                if _under_wildcard(secret, path):
                    flat[path] = OBFUSCATED
    return unflatten(flat)


def keep_unchanged_secrets(update: dict[str, Any], current: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    """Masked values posted back in `update` are replaced by the stored secrets."""
    if not secret_fields:
        return update
    flat_update, flat_current = flatten(update), flatten(current)
    for field in secret_fields:
        secret = tuple(field.split("."))
        stored = flat_current.get(secret)
        if stored is not None:
            if flat_update.get(secret) == OBFUSCATED:
                flat_update[secret] = stored
        elif "*" in secret:
            for path, value in flat_update.items():
                if _under_wildcard(secret, path) and value == OBFUSCATED and path in flat_current:
                    flat_update[path] = flat_current[path]
    return unflatten(flat_update)
