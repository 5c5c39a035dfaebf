from __future__ import annotations

import argparse

from ..client import SyncClient


def client(args: argparse.Namespace) -> SyncClient:
    # Short timeout and few retries: an interactive command must answer quickly, even with a dead API.
    return SyncClient(getattr(args, "api_url", None), getattr(args, "api_key", None), timeout=15, max_retries=2)
