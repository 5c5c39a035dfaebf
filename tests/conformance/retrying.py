"""Requests to either server, retried as the prefect client retries them.

The reference on SQLite answers 503 while its database is locked, and drops a keep-alive connection
after it answered a 500; neither is the answer being compared, so both are retried (bounded)."""

from __future__ import annotations

import time
from typing import Any

import httpx

ATTEMPTS = 6


def request(http: httpx.Client, method: str, path: str, json: Any = None) -> httpx.Response:
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        try:
            response = http.request(method, path, json=json)
        except httpx.TransportError:
            if last:
                raise
            continue
        if response.status_code != 503 or last:
            return response
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError("ATTEMPTS must be positive")
