"""Real prefect client: take a slot with a 60 s lease, say so, then hang until killed.

argv: <limit name>
"""

from __future__ import annotations

import sys
import time

from prefect.concurrency.sync import concurrency

with concurrency(sys.argv[1], occupy=1, lease_duration=60, strict=True):
    print("ACQUIRED", flush=True)
    time.sleep(3600)
