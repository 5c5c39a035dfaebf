"""The lease-reaper tick (the reference's repossessor): every expired concurrency lease gives
its slots back and is deleted, in one transaction per lease, so a holder that crashed (or
was killed) never keeps slots (Prefect's #17415).

Reads: the leases' expiry index (GSI1, range `expiration <= now`), soonest first; no Scan.
A lease renewed between the read and the write keeps its slots (the delete is conditioned
on the version read), and one reaped twice is released once.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from shared.schemas.base import now_utc
from shared.storage import concurrency_leases as lease_store

logger = logging.getLogger("serverflow.maintenance.lease_reaper")

# Leases released per batch; a tick keeps going while batches come back full.
BATCH_SIZE = 100
MAX_BATCHES = 50


@dataclass
class LeaseReaperResult:
    reclaimed: int = 0


def tick(now: datetime.datetime | None = None) -> LeaseReaperResult:
    result = LeaseReaperResult()
    for _ in range(MAX_BATCHES):
        released = lease_store.reap(now or now_utc(), BATCH_SIZE)
        result.reclaimed += released
        if released < BATCH_SIZE:
            break
    if result.reclaimed:
        logger.info("reclaimed %d expired concurrency leases", result.reclaimed)
    return result
