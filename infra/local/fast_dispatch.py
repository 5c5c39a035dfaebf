"""DynamoDB and DynamoDB Streams calls served without moto's per-request web machinery.

Every AWS call cost the emulator ~1-2 ms of which the operation itself was a fraction: the rest was
moto's Flask app, its request normalisation (`BaseResponse.setup_class`: URL/form/querystring
parsing, IAM bookkeeping), action lookup and response enrichment. A sharded read sends one Query per
shard (36 for the UI's task-run count); the task-run recorder sends one conditional PutItem per new
run; each stream-fed function polls GetRecords. Here the request is parsed by moto's own parser for
the operation and answered by moto's own handler method (`DynamoHandler`, `DynamoDBStreamsHandler`),
so every validation, expression, condition, stream record and the ordered index stay moto's.

- Reads (Query, GetItem, BatchGetItem, GetRecords, GetShardIterator) are dumped as the JSON DynamoDB
  sends (`fast_responses.dumps`). Anything that raises (a validation error, a missing table) is
  answered by moto's full path instead: a read changes nothing, so running it again there formats the
  error exactly as moto does.
- Writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) cannot be run twice: a
  refused write (a failed condition, a validation error) is formatted here as moto's path formats it
  (its `JsonRESTError`: status, `__type` and message), and a result by moto's own serializer. They are
  still journaled by `persistence.DurableStore`, which wraps this, on the 200 they answer.
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import ServiceException
from moto.core.parse import PROTOCOL_PARSERS
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import get_service_model
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from werkzeug.exceptions import HTTPException

from infra.local.fast_responses import dumps

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Answer = tuple[str, list[tuple[str, str]], bytes]
CONTENT_TYPE = "application/x-amz-json-1.0"


@dataclass(frozen=True)
class Call:
    """One operation served here: moto's handler class and method for it, and whether it changes state."""

    handler: type[BaseResponse]
    method: str
    operation: str
    write: bool = False

    @property
    def service(self) -> str:
        return "dynamodbstreams" if self.handler is DynamoDBStreamsHandler else "dynamodb"


def _calls(prefix: str, handler: type[BaseResponse], write: bool, *operations: tuple[str, str]) -> dict[str, Call]:
    return {f"{prefix}.{operation}": Call(handler, method, operation, write) for method, operation in operations}


# X-Amz-Target -> the call
FAST_CALLS: dict[str, Call] = {
    **_calls(
        "DynamoDB_20120810",
        DynamoHandler,
        False,
        ("query", "Query"),
        ("get_item", "GetItem"),
        ("batch_get_item", "BatchGetItem"),
    ),
    **_calls(
        "DynamoDB_20120810",
        DynamoHandler,
        True,
        ("put_item", "PutItem"),
        ("update_item", "UpdateItem"),
        ("delete_item", "DeleteItem"),
        ("batch_write_item", "BatchWriteItem"),
        ("transact_write_items", "TransactWriteItems"),
    ),
    **_calls(
        "DynamoDBStreams_20120810",
        DynamoDBStreamsHandler,
        False,
        ("get_records", "GetRecords"),
        ("get_shard_iterator", "GetShardIterator"),
    ),
}


class _Request:
    """What moto's region and account lookups read from a request: its headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    # The headers moto's region/account lookups and its serializer consult, under the spellings they look for.
    wanted = {
        "Authorization": "HTTP_AUTHORIZATION",
        "User-Agent": "HTTP_USER_AGENT",
        "x-moto-account-id": "HTTP_X_MOTO_ACCOUNT_ID",
        "X-Amz-Target": "HTTP_X_AMZ_TARGET",
        "Content-Type": "CONTENT_TYPE",
    }
    return {name: str(environ[key]) for name, key in wanted.items() if key in environ}


def _answer(status: int, headers: Iterable[tuple[str, str]], body: str | bytes) -> Answer:
    payload = body.encode("utf-8") if isinstance(body, str) else body
    kept = [(name, str(value)) for name, value in headers if name.lower() not in ("status", "content-length")]
    return (
        f"{status} {'OK' if status == 200 else 'Error'}",
        [*kept, ("x-amzn-requestid", os.urandom(26).hex()), ("x-amz-crc32", str(zlib.crc32(payload)))],
        payload,
    )


class FastDispatch:
    """WSGI middleware in front of moto's app (inside DurableStore, so under its lock)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._parsers: dict[str, Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        call = FAST_CALLS.get(str(environ.get("HTTP_X_AMZ_TARGET", "")))
        content_type = str(environ.get("CONTENT_TYPE", ""))
        if call is None or environ.get("REQUEST_METHOD") != "POST" or content_type != CONTENT_TYPE:
            return self.app(environ, start_response)
        if environ.get("HTTP_CONTENT_ENCODING"):  # compressed: moto's path decompresses it
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto's path reads it again if it answers instead
        answer = self.answer(call, body, environ)
        if answer is None:
            return self.app(environ, start_response)
        status, headers, payload = answer
        start_response(status, headers)
        return [payload]

    def _parser(self, call: Call) -> Any:
        parser = self._parsers.get(call.operation)
        if parser is None:
            operation_model = get_service_model(call.service).operation_model(call.operation)
            parser = PROTOCOL_PARSERS["json"](operation_model, map_type=call.handler.PROTOCOL_PARSER_MAP_TYPE)
            self._parsers[call.operation] = parser
        return parser

    def _handler(self, call: Call, body: bytes, environ: dict[str, Any]) -> BaseResponse:
        headers = _headers(environ)
        params = self._parser(call).parse(
            {
                "method": "POST",
                "values": {},
                "headers": headers,
                "body": body,
                "url_path": environ.get("PATH_INFO", "/"),
                "url_params": {},
            }
        )
        handler = call.handler()
        handler.params = params
        handler.body = params
        handler.automated_parameter_parsing = True
        handler.headers = headers
        handler.querystring = {}
        handler.uri_match = {}
        handler.response_headers = {"server": "amazon.com"}
        host = environ.get("HTTP_HOST", "")
        handler.region = handler.get_region_from_url(_Request(headers), f"http://{host}{environ.get('PATH_INFO', '/')}")
        handler.current_account = handler.get_current_account()
        return handler

    def answer(self, call: Call, body: bytes, environ: dict[str, Any]) -> Answer | None:
        """(status, headers, body) of moto's answer to this call, or None to let moto's full path answer it."""
        if not call.write:
            return self._read(call, body, environ)
        try:
            handler = self._handler(call, body, environ)
        except Exception:  # noqa: BLE001 - nothing ran yet: a request moto's parser refuses is moto's path's to format
            return None
        try:
            # Anything else raised here is raised on, as from moto's path (its server answers 500).
            result = getattr(handler, call.method)()
        except HTTPException as error:
            # moto's path (BaseResponse.call_action) answers a refused write with the exception's own response.
            return _answer(error.code or 400, error.get_headers() or [], error.get_body() or "")
        except ServiceException as error:
            return self._serialized(handler, ActionResult(error))
        return self._serialized(handler, result)

    def _read(self, call: Call, body: bytes, environ: dict[str, Any]) -> Answer | None:
        try:
            handler = self._handler(call, body, environ)
            result = getattr(handler, call.method)()
        except Exception:  # noqa: BLE001 - any refusal is moto's to format: its full path answers the same read
            return None
        if not isinstance(result, ActionResult) or not isinstance(result.result, dict):
            return None
        return _answer(200, [("Content-Type", CONTENT_TYPE), ("server", "amazon.com")], dumps(result.result))

    @staticmethod
    def _serialized(handler: BaseResponse, result: Any) -> Answer:
        response: TYPE_RESPONSE = handler.serialized(result)
        status, headers, payload = response
        return _answer(int(status), headers.items(), payload)
