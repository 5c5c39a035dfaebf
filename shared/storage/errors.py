"""Storage outcomes the API layer turns into Prefect-shaped HTTP errors."""


class StorageError(Exception):
    pass


class ObjectNotFound(StorageError):
    """No item for the requested key (HTTP 404)."""


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
