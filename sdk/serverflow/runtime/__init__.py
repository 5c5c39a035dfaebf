"""``serverflow.runtime.flow_run`` / ``.task_run`` / ``.deployment``: facts about the current run, read from the
run context, or from the environment (``SERVERFLOW__FLOW_RUN_ID``/``PREFECT__FLOW_RUN_ID``) and the API when
a worker started this process."""

from . import deployment, flow_run, task_run

__all__ = ["deployment", "flow_run", "task_run"]
