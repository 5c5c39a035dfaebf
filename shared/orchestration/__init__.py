"""The run state machine: pure rules deciding proposed state transitions (no I/O)."""

from shared.orchestration.engine import (
    OrchestrationOutcome,
    orchestrate_flow_run,
    orchestrate_task_run,
    resume_flow_run,
)

__all__ = [
    "OrchestrationOutcome",
    "orchestrate_flow_run",
    "orchestrate_task_run",
    "resume_flow_run",
]
