"""Scheduled Lambda (EventBridge, every minute): runs stuck in CANCELLING past the timeout
become CANCELLED, and cancelled runs' task runs and subflows follow
(shared.maintenance.cancellation_cleanup)."""

from shared.maintenance.cancellation_cleanup import tick
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler("cancellation_cleanup", tick, {"timed_out": "CancellingTimedOut"})
