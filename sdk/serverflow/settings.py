"""Configuration read from the environment.

Read lazily (functions, not module constants) so tests and workers can change the environment between runs
without re-importing the package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(*names: str, default: str | None = None) -> str | None:
    """First non-empty value among ``names``; Serverflow names are listed before their Prefect fallbacks."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


@dataclass(frozen=True)
class Settings:
    api_url: str | None
    api_key: str | None
    timeout: float
    connect_timeout: float
    max_retries: int
    local_storage_path: Path
    result_storage: str | None
    persist_results: bool
    log_to_api: bool
    events_batch_size: int
    flush_interval: float
    batch_timeout: float
    exit_flush_timeout: float

    @classmethod
    def from_env(cls) -> Settings:
        api_url = _env("SERVERFLOW_API_URL", "PREFECT_API_URL")
        return cls(
            api_url=api_url.rstrip("/") if api_url else None,
            api_key=_env("SERVERFLOW_API_KEY", "PREFECT_API_KEY"),
            timeout=_float(_env("SERVERFLOW_API_TIMEOUT"), 30.0),
            # Short connect timeout: an unreachable API must fail fast, not hang a flow.
            connect_timeout=_float(_env("SERVERFLOW_API_CONNECT_TIMEOUT"), 5.0),
            max_retries=int(_float(_env("SERVERFLOW_API_MAX_RETRIES"), 5)),
            local_storage_path=Path(
                _env("SERVERFLOW_LOCAL_STORAGE_PATH", default=str(Path.home() / ".serverflow" / "storage")) or ""
            ).expanduser(),
            result_storage=_env("SERVERFLOW_RESULT_STORAGE"),
            persist_results=(_env("SERVERFLOW_PERSIST_RESULTS") or "false").lower() in ("1", "true", "yes"),
            log_to_api=(_env("SERVERFLOW_LOGGING_TO_API") or "true").lower() in ("1", "true", "yes"),
            # 200 events is ~300 KB: far below API Gateway/Lambda payload limits, and small enough that a slow
            # store still answers within batch_timeout.
            events_batch_size=int(_float(_env("SERVERFLOW_EVENTS_BATCH_SIZE"), 200)),
            # A partial batch leaves once its oldest item has waited this long: events ship while the flow runs,
            # so little is left to send when it ends; items queued during a send batch up anyway.
            flush_interval=_float(_env("SERVERFLOW_FLUSH_INTERVAL"), 0.25),
            batch_timeout=_float(_env("SERVERFLOW_BATCH_TIMEOUT"), 60.0),
            # At interpreter exit, queued events/logs are drained for at most this long (then they are lost).
            exit_flush_timeout=_float(_env("SERVERFLOW_EXIT_FLUSH_TIMEOUT"), 120.0),
        )


def get_settings() -> Settings:
    return Settings.from_env()
