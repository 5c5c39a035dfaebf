"""``serverflow worker``: runs a work pool's flow runs (SQS hints + API polling), as a CLI process or a Lambda.

Modules: ``options`` (settings), ``queue`` (the pool's SQS queue), ``api`` (worker HTTP calls), ``claim``
(SCHEDULED -> PENDING), ``process`` (the flow-run subprocess), ``supervise`` (watch, cancel, report),
``record`` (one hint, shared by the CLI loop and the Lambda), ``loop`` (the CLI worker), ``run_flow_run``
(what the subprocess executes), ``lambda_worker`` (the Lambda batch record handler).
"""

from .options import WorkerOptions

__all__ = ["WorkerOptions"]
