"""Scheduled Lambda (EventBridge, every minute): expired concurrency leases give their
slots back (shared.maintenance.lease_reaper)."""

from shared.maintenance.lease_reaper import tick
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler("lease_reaper", tick, {"reclaimed": "LeasesReclaimed"})
