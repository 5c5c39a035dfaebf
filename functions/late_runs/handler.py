"""Scheduled Lambda (EventBridge, every minute): SCHEDULED runs past due by the threshold
become Late (shared.maintenance.late_runs)."""

from shared.maintenance.late_runs import tick
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler("late_runs", tick, {"marked_late": "RunsMarkedLate"})
