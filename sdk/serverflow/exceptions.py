"""Exceptions raised by the SDK. Plain classes so importing them costs nothing."""

from __future__ import annotations


class ServerflowError(Exception):
    """Base class of every SDK error."""


class APIError(ServerflowError):
    """The API answered with an error status."""

    def __init__(
        self, message: str, status_code: int | None = None, body: object = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body
        # Seconds from the response's Retry-After header (423 from a full concurrency limit carries one).
        self.retry_after = retry_after


class APIUnreachable(APIError):
    """The API could not be reached (DNS, refused connection, timeout)."""


class Unauthorized(APIError):
    """The API rejected the API key (401/403)."""


class ObjectNotFound(APIError):
    """404 from the API."""


class MissingAPIURL(ServerflowError):
    """Neither SERVERFLOW_API_URL nor PREFECT_API_URL is set."""


class Abort(ServerflowError):
    """The server aborted a state transition; the run must not proceed."""


class ParameterValidationError(ServerflowError, ValueError):
    """Flow parameters do not match the function's type hints."""


class UpstreamTaskError(ServerflowError):
    """A task's upstream dependency did not complete."""


class FlowTimeout(TimeoutError, ServerflowError):
    """A flow or task exceeded its timeout_seconds."""


class TaskTimeout(FlowTimeout):
    pass


class FailedRun(ServerflowError):
    """Raised by ``State.result()`` when the run failed without an exception object to re-raise."""


class CancelledRun(ServerflowError):
    """Raised by ``State.result()`` for a cancelled run."""


class CrashedRun(ServerflowError):
    """Raised by ``State.result()`` for a crashed run."""


class MissingResult(ServerflowError):
    """A state has no result attached (not persisted and not in memory)."""
