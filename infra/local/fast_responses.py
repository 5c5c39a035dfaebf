"""Item-heavy DynamoDB read responses serialised with `json.dumps`, not moto's shape walker.

Once a Query reads only its page, the page's response dominates: moto serialises it
member by member against the botocore output shape (~2 ms per returned item under
load). A Query/GetItem/BatchGetItem/Scan result is already the JSON DynamoDB sends
(`DynamoResult` turned every attribute value into its `{"S": ...}` form), so it is
dumped as is, with the same status and content type. Errors and every other
operation keep moto's serializer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionContext
from moto.dynamodb.responses import DynamoResult

FAST_OPERATIONS = frozenset({"Query", "GetItem", "BatchGetItem", "Scan"})

# moto's own serialisation, once `apply()` replaced it: what the tests compare against.
moto_execute_result: Callable[..., Any] | None = None


def _binary(value: Any) -> str:
    # Binary attribute values are base64 in DynamoDB's JSON, as moto's serializer writes them.
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Cannot serialise {type(value)!r}")


def apply() -> None:
    global moto_execute_result
    original: Callable[..., Any] = DynamoResult.execute_result
    moto_execute_result = original

    def execute_result(self: DynamoResult, context: ActionContext) -> Any:
        result = self.result
        if context.operation_model.name not in FAST_OPERATIONS or not isinstance(result, dict):
            return original(self, context)
        serializer = context.serializer_class(operation_model=context.operation_model)
        response = serializer._create_default_response()
        body = {key: value for key, value in result.items() if value is not None}  # moto omits unset members
        content_type = serializer._get_protocol_specific_content_type()  # type: ignore[attr-defined]  # moto's own JSON serializers have it; the lock pins moto
        response["headers"]["Content-Type"] = content_type
        return response["status_code"], response["headers"], json.dumps(body, default=_binary)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign,assignment]  # the speed-up patches moto in place
