"""Result persistence: a local directory or S3 (boto3, imported only when an s3:// store is used).

A record is a small JSON envelope ``{"metadata": {...}, "result": ...}``. The metadata is what goes into a
state's ``data`` on the wire (``storage_key`` is the full location, so any process can read it back), the
same shape prefect writes, so a cache hit or a retried parent flow can load a value another process stored.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from . import _time
from .settings import get_settings


class _Backend(Protocol):
    def read(self, key: str) -> bytes | None: ...

    def write(self, key: str, content: bytes) -> None: ...

    def uri(self, key: str) -> str: ...


class UnsafeResultKey(ValueError):
    """A result key or location that would reach outside its storage root."""


def _checked_key(key: str) -> str:
    """A key is relative and never climbs: no absolute path, no ``..`` segment, no NUL."""
    text = str(key)
    parts = text.replace("\\", "/").split("/")
    if not text or "\x00" in text or text.startswith(("/", "\\")) or ".." in parts or Path(text).is_absolute():
        raise UnsafeResultKey(f"Result storage key {key!r} must be a relative path inside the storage root")
    return text


class _LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / _checked_key(key)).resolve()
        # Resolved, so a symlink inside the root cannot lead out of it either.
        if not path.is_relative_to(self.root):
            raise UnsafeResultKey(f"Result storage key {key!r} leads outside {self.root}")
        return path

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, content: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: concurrent writers of the same key never expose a half-written record.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, path)


class _S3Backend:
    def __init__(self, bucket: str, prefix: str) -> None:
        import boto3  # lazy: boto3 is heavy and only needed for S3 stores

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._s3 = boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or None)

    def _key(self, key: str) -> str:
        key = _checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def read(self, key: str) -> bytes | None:
        try:
            response = self._s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._s3.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # botocore ClientError for 404 on some S3 implementations
            if "NoSuchKey" in str(exc) or "404" in str(exc):
                return None
            raise
        return bytes(response["Body"].read())

    def write(self, key: str, content: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=content)


def _backend_for(location: str | Path) -> _Backend:
    text = str(location)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        return _S3Backend(bucket, prefix)
    return _LocalBackend(Path(text))


# Storage roots results may be read from: the configured defaults plus every ResultStore's location.
_known_locations: set[str] = set()


def _roots() -> list[str]:
    settings = get_settings()
    defaults = [str(loc) for loc in (settings.result_storage, settings.local_storage_path) if loc]
    return [*defaults, *_known_locations]


def _inside_known_root(location: str) -> tuple[str, str]:
    """(root, key relative to it) for a full storage location, or UnsafeResultKey."""
    for root in _roots():
        if root.startswith("s3://") and location.startswith(root.rstrip("/") + "/"):
            return root, location[len(root.rstrip("/")) + 1 :]
        if not root.startswith("s3://") and not location.startswith("s3://"):
            base = Path(root).expanduser().resolve()
            target = Path(location).expanduser().resolve()
            if target.is_relative_to(base) and target != base:
                return str(base), str(target.relative_to(base))
    raise UnsafeResultKey(f"Result location {location!r} is outside every result storage root of this process")


def _encode(value: Any, serializer: str) -> Any:
    if serializer == "json":
        return value
    return base64.b64encode(pickle.dumps(value)).decode()


def _decode(payload: Any, serializer: str) -> Any:
    if serializer == "json":
        return payload
    return pickle.loads(base64.b64decode(payload))


class ResultStore:
    """Where results of one flow or task go. ``storage`` is a directory path or ``s3://bucket/prefix``."""

    def __init__(self, storage: str | Path | None = None, serializer: str = "pickle") -> None:
        settings = get_settings()
        self.location = str(storage or settings.result_storage or settings.local_storage_path)
        if serializer not in ("pickle", "json"):
            raise ValueError("serializer must be 'pickle' or 'json'")
        self.serializer = serializer
        self._backend: _Backend | None = None
        _known_locations.add(self.location)

    @property
    def backend(self) -> _Backend:
        if self._backend is None:
            self._backend = _backend_for(self.location)
        return self._backend

    def write(self, key: str, value: Any, expiration: datetime | None = None) -> dict[str, Any]:
        """Persist ``value`` under ``key``; returns the record metadata to attach to the state."""
        metadata = {
            "storage_key": self.backend.uri(key),
            "expiration": _time.iso(expiration),
            "serializer": {"type": self.serializer},
            "storage_block_id": None,
        }
        record = {"metadata": metadata, "result": _encode(value, self.serializer)}
        self.backend.write(key, json.dumps(record).encode())
        return metadata

    def read(self, key: str) -> tuple[Any, dict[str, Any]] | None:
        """The stored value and its metadata, or None when missing or expired (a cache miss)."""
        content = self.backend.read(key)
        if content is None:
            return None
        record = json.loads(content)
        metadata = record["metadata"]
        expiration = _time.parse(metadata.get("expiration"))
        if expiration is not None and expiration <= _time.now():
            return None
        return _decode(record["result"], metadata["serializer"]["type"]), metadata

    @staticmethod
    def read_record(metadata: dict[str, Any]) -> Any:
        """Load a value from a state's result metadata (its full ``storage_key``).

        The location comes from the API (a state's data), so it is read only when it lies inside a
        storage root this process uses (the configured defaults and every ``ResultStore`` created
        here): a crafted state can never make us read, let alone unpickle, an arbitrary file."""
        location = str(metadata["storage_key"])
        root, key = _inside_known_root(location)
        content = _backend_for(root).read(key)
        if content is None:
            from .exceptions import MissingResult

            raise MissingResult(f"Persisted result not found at {location}")
        record = json.loads(content)
        return _decode(record["result"], record["metadata"]["serializer"]["type"])
