"""Masking of a block document's secret fields, as the schema's `secret_fields` declare them.

`secret_fields` holds dotted paths into the data (`password`, `auth.token`, `headers.*`).
Reads without `include_secrets` replace those values with `********`; an update that posts a
masked value back (a UI round-trip) keeps the stored secret instead of saving the mask.

One deliberate difference from the reference: a secret field holding an object (a
`Secret[dict]` value) is masked as a whole; the reference's flattening misses it and returns
such secrets in clear (docs/compatibility.md).
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


def _is_secret(secret: Path, path: Path) -> bool:
    """Is the leaf at `path` covered by the secret field `secret` (itself, below it, or a wildcard)?"""
    if "*" in secret:
        cut = secret.index("*")
        return secret[:cut] == path[:cut]
    return path[: len(secret)] == secret


def _mask_root(path: Path, flat: dict[Path, Any], secrets: list[Path]) -> Path | None:
    """The path to mask `path` under: itself for a wildcard or leaf secret, the secret for an object."""
    for secret in secrets:
        if not _is_secret(secret, path):
            continue
        if "*" in secret:
            return path if flat[path] is not None else None
        covered = [p for p in flat if _is_secret(secret, p)]
        # A null secret stays null (nothing to hide), as in the reference; an object is one mask.
        return secret if any(flat[p] is not None for p in covered) else None
    return None


def mask(data: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    """`data` with every secret value replaced by the mask (key order kept)."""
    if not secret_fields:
        return data
    flat = flatten(data)
    secrets = [tuple(field.split(".")) for field in secret_fields]
    masked: dict[Path, Any] = {}
    for path, value in flat.items():
        root = _mask_root(path, flat, secrets)
        if root is None:
            masked[path] = value
        else:
            masked[root] = OBFUSCATED
    return unflatten(masked)


def keep_unchanged_secrets(update: dict[str, Any], current: dict[str, Any], secret_fields: list[str]) -> dict[str, Any]:
    """Masked values posted back in `update` are replaced by the stored secrets."""
    if not secret_fields:
        return update
    flat_update, flat_current = flatten(update), flatten(current)
    secrets = [tuple(field.split(".")) for field in secret_fields]
    for path, value in flat_update.items():
        if value == OBFUSCATED and path in flat_current and any(_is_secret(secret, path) for secret in secrets):
            flat_update[path] = flat_current[path]
    # A whole secret object posted back as one mask keeps the stored object.
    for secret in secrets:
        if "*" not in secret and flat_update.get(secret) == OBFUSCATED and secret not in flat_current:
            stored = {path[len(secret) :]: v for path, v in flat_current.items() if path[: len(secret)] == secret}
            if stored:
                del flat_update[secret]
                flat_update.update({(*secret, *rest): v for rest, v in stored.items()})
    return unflatten(flat_update)
