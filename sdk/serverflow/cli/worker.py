"""``serverflow worker ...``: the command lives with the worker (``serverflow.worker.cli``)."""

from ..worker.cli import register

__all__ = ["register"]
