"""Scheduled Lambda (EventBridge, every minute): workers without a recent heartbeat go
OFFLINE, and their pools' and queues' statuses follow (the reference's foreman); the runs they
left PENDING/RUNNING become CRASHED (rescheduled when retries allow)."""

from shared.maintenance.worker_crashes import expire_workers
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler("worker_expiry", expire_workers)
