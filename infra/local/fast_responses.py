"""Item-heavy DynamoDB read responses serialised with `json.dumps`, not moto's shape walker.

Once a Query reads only its page, the page's response dominates: moto serialises it
member by member against the botocore output shape (~2 ms per returned item under
load). A Query/GetItem/BatchGetItem/Scan result is already the JSON DynamoDB sends
(`DynamoResult` turned every attribute value into its `{"S": ...}` form), so it is
dumped as is, with the same status and content type. Errors and every other
operation keep moto's serializer.

DynamoDB Streams' GetRecords likewise: every stream-fed function reads every record with its
item image (the task-run recorder's pages of up to 1,000 took ~2 s each under load), and the
records are already in DynamoDB's JSON form; their one timestamp is written as epoch seconds.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.responses import DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

FAST_OPERATIONS = frozenset({"Query", "GetItem", "BatchGetItem", "Scan"})

# moto's own serialisation, once `apply()` replaced it: what the tests compare against.
moto_execute_result: Callable[..., Any] | None = None


# moto's own GetRecords, once `apply()` replaced it: what the tests compare against.
moto_get_records: Callable[..., Any] | None = None


def _binary(value: Any) -> Any:
    # Binary attribute values are base64 in DynamoDB's JSON, as moto's serializer writes them; timestamps
    # (a stream record's ApproximateCreationDateTime, naive UTC in moto) are epoch seconds to the millisecond.
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime.datetime):
        utc = value.astimezone(datetime.UTC) if value.tzinfo is not None else value
        return calendar.timegm(utc.timetuple()) + utc.microsecond // 1000 / 1000
    raise TypeError(f"Cannot serialise {type(value)!r}")


def dumps(result: dict[str, Any]) -> str:
    """A read's result (already in DynamoDB's JSON form) as the body DynamoDB sends."""
    body = {key: value for key, value in result.items() if value is not None}  # moto omits unset members
    return json.dumps(body, default=_binary)


def _json_response(result: dict[str, Any], context: ActionContext) -> Any:
    serializer = context.serializer_class(operation_model=context.operation_model)
    response = serializer._create_default_response()
    content_type = serializer._get_protocol_specific_content_type()  # type: ignore[attr-defined]  # moto's own JSON serializers have it; the lock pins moto
    response["headers"]["Content-Type"] = content_type
    return response["status_code"], response["headers"], dumps(result)


class _JsonResult(ActionResult):
    """A result that is already DynamoDB JSON: dumped as is."""

    def execute_result(self, context: ActionContext) -> Any:
        result = self.result
        if not isinstance(result, dict):
            return super().execute_result(context)
        return _json_response(result, context)


def apply() -> None:
    global moto_execute_result
    original: Callable[..., Any] = DynamoResult.execute_result
    moto_execute_result = original

    def execute_result(self: DynamoResult, context: ActionContext) -> Any:
        result = self.result
        if context.operation_model.name not in FAST_OPERATIONS or not isinstance(result, dict):
            return original(self, context)
        return _json_response(result, context)

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign,assignment]  # the speed-up patches moto in place

    global moto_get_records
    original_get_records: Callable[..., Any] = DynamoDBStreamsHandler.get_records
    moto_get_records = original_get_records

    def get_records(self: DynamoDBStreamsHandler) -> ActionResult:
        return _JsonResult(original_get_records(self).result)

    DynamoDBStreamsHandler.get_records = get_records  # type: ignore[method-assign]  # the speed-up patches moto in place
