"""Scheduled Lambda (EventBridge): proactive triggers whose windows are over are evaluated
(shared.automations.evaluator.proactive)."""

from shared.automations.evaluator import proactive
from shared.scheduled_lambda import build_scheduled_handler

handler = build_scheduled_handler("automation_proactive", lambda: {"fired": proactive()}, {"fired": "AutomationsFired"})
