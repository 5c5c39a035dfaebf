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
from typing import Any, Optional, Protocol

from . import _time
from .settings import get_settings


class _Backend(Protocol):
    def read(self, key: str) -> Optional[bytes]: ...

    def write(self, key: str, content: bytes) -> None: ...

    def uri(self, key: str) -> str: ...


class _LocalBackend:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def uri(self, key: str) -> str:
        return str(self.root / key)

    def read(self, key: str) -> Optional[bytes]:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, content: bytes) -> None:
        path = self.root / key
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
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def read(self, key: str) -> Optional[bytes]:
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
        self._backend: Optional[_Backend] = None

    @property
    def backend(self) -> _Backend:
        if self._backend is None:
            self._backend = _backend_for(self.location)
        return self._backend

    def write(self, key: str, value: Any, expiration: Optional[datetime] = None) -> dict[str, Any]:
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

    def read(self, key: str) -> Optional[tuple[Any, dict[str, Any]]]:
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
        """Load a value from a state's result metadata (its full ``storage_key``)."""
        location = str(metadata["storage_key"])
        if location.startswith("s3://"):
            bucket, _, key = location[len("s3://") :].partition("/")
            content = _S3Backend(bucket, "").read(key)
        else:
            path = Path(location)
            content = path.read_bytes() if path.exists() else None
        if content is None:
            from .exceptions import MissingResult

            raise MissingResult(f"Persisted result not found at {location}")
        record = json.loads(content)
        return _decode(record["result"], record["metadata"]["serializer"]["type"])
