"""Scheduled Lambda (EventBridge, every minute): auto-scheduled runs for every active
deployment schedule, and due runs sent to their pool's SQS queue (shared.maintenance.scheduler)."""

from shared.maintenance.scheduler import tick
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler(
    "scheduler", tick, {"runs_created": "ScheduledRunsCreated", "dispatched": "RunsDispatched"}
)
