"""HTTP client for the Serverflow (Prefect-compatible) API: ``SyncClient`` and ``AsyncClient``."""

from ._transport import requests_sent
from .async_client import AsyncClient
from .sync_client import SyncClient

__all__ = ["AsyncClient", "SyncClient", "get_client", "requests_sent"]


def get_client(sync_client: bool = False, **kwargs: object) -> "AsyncClient | SyncClient":
    """Prefect-style factory: async by default, ``sync_client=True`` for the blocking one."""
    return SyncClient(**kwargs) if sync_client else AsyncClient(**kwargs)  # type: ignore[arg-type]  # keyword arguments pass through to either client
