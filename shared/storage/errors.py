"""Storage outcomes the API layer turns into Prefect-shaped HTTP errors."""

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException


class StorageError(Exception):
    pass


class ObjectNotFound(StorageError):
    """No item for the requested key (HTTP 404)."""


class RunNotFound(ObjectNotFound):
    """A state change (set_state, resume) or label update names a run that does not exist. The reference's
    model layer raises its ObjectNotFoundError there, answered 404 with {"exception_message": ...}, where a
    router's own miss answers {"detail": ...} (HTTP 404 either way)."""


class ObjectAlreadyExists(StorageError):
    """A uniqueness guard already holds the name/key (HTTP 409)."""


class ConcurrentUpdate(StorageError):
    """A conditional write lost a race: the item changed since it was read."""


class ItemTooLarge(StorageError):
    """An item would pass DynamoDB's 400 KB item limit (HTTP 413, never a 5xx)."""


class KeyTooLarge(StorageError):
    """A name/key/tag would make a DynamoDB key past its size limit (HTTP 422, never a 5xx)."""


class ObjectProtected(StorageError):
    """The object is protected from this change, e.g. a system block type (HTTP 403)."""


class InvalidObject(StorageError):
    """The request names or builds an object that cannot be stored as asked (HTTP 400)."""


class StorageUnavailable(StorageError):
    """DynamoDB (or the emulator standing in for it) cannot be reached (HTTP 503, retry later)."""


# botocore's names for "nothing answered" (connection refused/reset, timeouts) and for throttling.
_UNAVAILABLE_ERRORS = {
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionError",
    "ProxyConnectionError",
}
_UNAVAILABLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalServerError",
}


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the AWS service could not answer now.

    pynamodb wraps botocore's errors (`.cause`) and boto3 raises them bare; both chains are walked.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StorageUnavailable):
            return True
        if type(current).__name__ in _UNAVAILABLE_ERRORS and type(current).__module__.startswith(
            ("botocore", "urllib3")
        ):
            return True
        code = getattr(current, "cause_response_code", None)
        response = getattr(current, "response", None)
        if code is None and isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
        if code in _UNAVAILABLE_CODES:
            return True
        nested = getattr(current, "cause", None)
        current = nested if isinstance(nested, BaseException) else current.__cause__ or current.__context__
    return False


# What the AWS libraries raise; the API maps these to 503 when `is_unavailable`, else 500.
BACKEND_ERRORS: tuple[type[Exception], ...] = (PynamoDBException, BotoCoreError, ClientError)
