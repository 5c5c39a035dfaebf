"""Run loggers: ``get_run_logger()`` logs to the console and ships records to ``POST /api/logs/`` in batches
from a background thread (see _shipper.py), so logging never waits for the network."""

from __future__ import annotations

import builtins
import logging
import os
import sys
import threading
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from . import _time
from .context import get_flow_run_context, get_task_run_context

if TYPE_CHECKING:
    from ._shipper import BatchShipper


class MissingContextError(RuntimeError):
    pass


_setup_lock = threading.Lock()
_configured = False


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        run = getattr(record, "task_run_name", None)
        prefix = f"Task run {run!r} - " if run else ""
        if not prefix and getattr(record, "flow_run_name", None):
            prefix = f"Flow run {record.flow_run_name!r} - "  # type: ignore[attr-defined]  # an extra attribute, checked by getattr just above
        stamp = self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"
        text = f"{stamp} | {record.levelname:<7} | {prefix}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class APILogHandler(logging.Handler):
    """Queues records that belong to a run for batched shipping to the API."""

    def emit(self, record: logging.LogRecord) -> None:
        shipper: BatchShipper | None = getattr(record, "serverflow_logs", None)
        flow_run_id = getattr(record, "flow_run_id", None)
        if shipper is None or flow_run_id is None:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            task_run_id = getattr(record, "task_run_id", None)
            shipper.put(
                {
                    "name": record.name,
                    "level": record.levelno,
                    "message": message,
                    "timestamp": _time.iso(_time.datetime_from_epoch(record.created)),
                    "flow_run_id": str(flow_run_id),
                    "task_run_id": str(task_run_id) if task_run_id else None,
                }
            )
        except Exception:  # noqa: BLE001 - logging's contract: a handler reports its own failures via handleError
            self.handleError(record)


def _configure() -> None:
    global _configured
    with _setup_lock:
        if _configured:
            return
        root = logging.getLogger("serverflow")
        root.setLevel(os.environ.get("SERVERFLOW_LOGGING_LEVEL", "INFO").upper())
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(_ConsoleFormatter())
        root.addHandler(console)
        root.addHandler(APILogHandler())
        root.propagate = False
        _configured = True


class RunLogger(logging.LoggerAdapter):  # type: ignore[type-arg]  # LoggerAdapter is generic only in typeshed, not at run time (python 3.11)
    """Adds the run ids (and the log shipper) to every record."""

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **(kwargs.get("extra") or {})}
        return msg, kwargs


def flow_run_logger(flow_run_id: Any, flow_run_name: str, flow_name: str, logs: BatchShipper | None) -> RunLogger:
    _configure()
    return RunLogger(
        logging.getLogger("serverflow.flow_runs"),
        {"flow_run_id": flow_run_id, "flow_run_name": flow_run_name, "flow_name": flow_name, "serverflow_logs": logs},
    )


def task_run_logger(
    task_run_id: Any, task_run_name: str, flow_run_id: Any, flow_run_name: str | None, logs: BatchShipper | None
) -> RunLogger:
    _configure()
    return RunLogger(
        logging.getLogger("serverflow.task_runs"),
        {
            "task_run_id": task_run_id,
            "task_run_name": task_run_name,
            "flow_run_id": flow_run_id,
            "flow_run_name": flow_run_name,
            "serverflow_logs": logs,
        },
    )


def get_run_logger() -> RunLogger:
    """The logger of the current task run, else of the current flow run (Prefect semantics)."""
    task_ctx = get_task_run_context()
    if task_ctx is not None:
        return task_ctx.task_run.logger
    flow_ctx = get_flow_run_context()
    if flow_ctx is not None:
        logger: RunLogger = flow_ctx.logger
        return logger
    raise MissingContextError("get_run_logger() was called outside of a flow or task run.")


def get_logger(name: str = "serverflow") -> logging.Logger:
    _configure()
    return logging.getLogger(name if name.startswith("serverflow") else f"serverflow.{name}")


# --- log_prints ----------------------------------------------------------------------------------------------
_original_print = builtins.print
_print_patched = False


def _print(*args: Any, **kwargs: Any) -> None:
    """``print`` that goes to the run logger when the current flow/task asked for ``log_prints``."""
    task_ctx = get_task_run_context()
    flow_ctx = get_flow_run_context()
    wants = task_ctx.log_prints if task_ctx is not None else (flow_ctx.log_prints if flow_ctx is not None else False)
    if not wants or kwargs.get("file") not in (None, sys.stdout):
        _original_print(*args, **kwargs)
        return
    sep = kwargs.get("sep", " ")
    get_run_logger().info((sep if sep is not None else " ").join(str(a) for a in args))


def patch_print() -> None:
    global _print_patched
    if not _print_patched:
        builtins.print = _print
        _print_patched = True
