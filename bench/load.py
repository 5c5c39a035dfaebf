"""Bounded loopback load: N prepared requests, a fixed number of asyncio workers, one httpx client."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

# (method, path relative to the API root, JSON body or None)
Request = tuple[str, str, Any]
OnResponse = Callable[[int, httpx.Response], None]
# Given a 2xx response, return an error kind (e.g. "REJECT") when it is semantically a failure, else None.
Check = Callable[[httpx.Response], str | None]

PREFECT_HEADERS = {"X-PREFECT-API-VERSION": "0.8.4", "User-Agent": "serverflow-bench"}


def assert_loopback(api_url: str) -> None:
    host = urlsplit(api_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"load goes to loopback only, not {host!r}")


@dataclass
class OpStats:
    """Latency/throughput/error summary of one operation on one server."""

    op: str
    requests: int = 0
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    throughput_rps: float | None = None  # successful requests per second of wall time
    wall_s: float = 0.0
    truncated: bool = False  # stopped by the time bound before all requests were sent

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_vals: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        raise ValueError("empty")
    k = max(0, min(len(sorted_vals) - 1, round(q / 100 * len(sorted_vals) + 0.5) - 1))
    return sorted_vals[k]


def summarize(op: str, lat_ok: list[float], kinds: Counter[str], wall: float, sent: int, truncated: bool) -> OpStats:
    s = OpStats(
        op=op,
        requests=sent,
        ok=len(lat_ok),
        errors=sum(kinds.values()),
        error_kinds=dict(kinds),
        wall_s=round(wall, 3),
        truncated=truncated,
    )
    if lat_ok:
        lat = sorted(lat_ok)
        s.p50_ms = round(percentile(lat, 50) * 1000, 2)
        s.p95_ms = round(percentile(lat, 95) * 1000, 2)
        s.mean_ms = round(statistics.fmean(lat) * 1000, 2)
        s.throughput_rps = round(len(lat_ok) / wall, 1) if wall > 0 else None
    return s


async def run_load(
    client: httpx.AsyncClient,
    op: str,
    requests: Sequence[Request],
    concurrency: int = 8,
    max_seconds: float = 120.0,
    on_response: OnResponse | None = None,
    check: Check | None = None,
) -> OpStats:
    """Send `requests` with `concurrency` workers; stop issuing after `max_seconds`.

    A 2xx that passes `check` counts as ok; any other status or a transport error is counted by kind, never raised.
    `on_response(index, response)` sees every response (e.g. to collect created ids).
    """
    assert_loopback(str(client.base_url))
    it = iter(enumerate(requests))
    lat_ok: list[float] = []
    kinds: Counter[str] = Counter()
    sent = 0
    truncated = False
    t_start = time.perf_counter()
    deadline = t_start + max_seconds

    async def worker() -> None:
        nonlocal sent, truncated
        for i, (method, path, body) in it:
            if time.perf_counter() > deadline:
                truncated = True
                return
            sent += 1
            t0 = time.perf_counter()
            try:
                r = await client.request(method, path, json=body)
            except httpx.HTTPError as e:
                kinds[type(e).__name__] += 1
                continue
            dt = time.perf_counter() - t0
            bad = check(r) if (check is not None and 200 <= r.status_code < 300) else None
            if 200 <= r.status_code < 300 and bad is None:
                lat_ok.append(dt)
            elif bad is not None:
                kinds[bad] += 1
            else:
                kinds[str(r.status_code)] += 1
            if on_response is not None:
                on_response(i, r)

    await asyncio.gather(*(worker() for _ in range(max(1, concurrency))))
    return summarize(op, lat_ok, kinds, time.perf_counter() - t_start, sent, truncated)


def make_client(api_url: str, concurrency: int = 8, timeout: float = 90.0) -> httpx.AsyncClient:
    """One pooled client per server; base_url is the API root ending in /api/. The timeout is long on purpose:
    a slow operation (e.g. a filter reading the whole store, 8 at a time) is measured, not abandoned while the
    server keeps working on it (the per-operation time bound stops issuing new requests)."""
    assert_loopback(api_url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        base_url=api_url.rstrip("/") + "/", timeout=timeout, limits=limits, headers=PREFECT_HEADERS
    )
