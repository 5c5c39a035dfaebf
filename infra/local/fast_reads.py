"""DynamoDB reads (Query, GetItem, BatchGetItem) served without moto's per-request web machinery.

A sharded read sends one Query per shard (36 for the UI's task-run count), and each cost
the emulator ~0.6 ms of which the query itself was ~0.05: the rest was moto's Flask app,
its request normalisation (`BaseResponse.setup_class`: URL/form/querystring parsing, IAM
bookkeeping), action lookup and response enrichment. Here the request is parsed by moto's
own parser for the operation, answered by moto's own `DynamoHandler` method (so every
validation, expression and the ordered index stay moto's), and the result dumped as the
JSON DynamoDB sends (`fast_responses.dumps`), with the headers moto's path sets.

Anything that raises (a validation error, a missing table) is answered by moto's full path
instead: a read changes nothing, so running it again there formats the error exactly as
moto does. Writes never come here (they are journaled by `persistence.DurableStore`).
"""

from __future__ import annotations

import io
import os
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.parse import PROTOCOL_PARSERS
from moto.core.utils import get_service_model
from moto.dynamodb.responses import DynamoHandler, DynamoResult

from infra.local.fast_responses import dumps

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# X-Amz-Target -> (DynamoHandler method, operation name)
FAST_READS = {
    "DynamoDB_20120810.Query": ("query", "Query"),
    "DynamoDB_20120810.GetItem": ("get_item", "GetItem"),
    "DynamoDB_20120810.BatchGetItem": ("batch_get_item", "BatchGetItem"),
}
CONTENT_TYPE = "application/x-amz-json-1.0"


class _Request:
    """What moto's region and account lookups read from a request: its headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    # The headers moto's region/account lookups consult, under the spellings they look for.
    wanted = {
        "Authorization": "HTTP_AUTHORIZATION",
        "User-Agent": "HTTP_USER_AGENT",
        "x-moto-account-id": "HTTP_X_MOTO_ACCOUNT_ID",
    }
    return {name: str(environ[key]) for name, key in wanted.items() if key in environ}


class FastReads:
    """WSGI middleware in front of moto's app (inside DurableStore, so under its lock)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._parsers: dict[str, Any] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        read = FAST_READS.get(str(environ.get("HTTP_X_AMZ_TARGET", "")))
        content_type = str(environ.get("CONTENT_TYPE", ""))
        if read is None or environ.get("REQUEST_METHOD") != "POST" or content_type != CONTENT_TYPE:
            return self.app(environ, start_response)
        if environ.get("HTTP_CONTENT_ENCODING"):  # compressed: moto's path decompresses it
            return self.app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)  # moto's path reads it again if it answers instead
        answer = self.answer(read, body, environ)
        if answer is None:
            return self.app(environ, start_response)
        start_response("200 OK", answer[0])
        return [answer[1]]

    def _parser(self, operation: str) -> Any:
        parser = self._parsers.get(operation)
        if parser is None:
            operation_model = get_service_model("dynamodb").operation_model(operation)
            parser = PROTOCOL_PARSERS["json"](operation_model, map_type=DynamoHandler.PROTOCOL_PARSER_MAP_TYPE)
            self._parsers[operation] = parser
        return parser

    def answer(
        self, read: tuple[str, str], body: bytes, environ: dict[str, Any]
    ) -> tuple[list[tuple[str, str]], bytes] | None:
        """(headers, body) of moto's answer to this read, or None to let moto's full path answer it."""
        method, operation = read
        headers = _headers(environ)
        handler = DynamoHandler()
        try:
            params = self._parser(operation).parse(
                {
                    "method": "POST",
                    "values": {},
                    "headers": headers,
                    "body": body,
                    "url_path": environ.get("PATH_INFO", "/"),
                    "url_params": {},
                }
            )
            handler.params = handler.body = params
            handler.headers = headers
            handler.querystring = {}
            host = environ.get("HTTP_HOST", "")
            handler.region = handler.get_region_from_url(
                _Request(headers), f"http://{host}{environ.get('PATH_INFO', '/')}"
            )
            handler.current_account = handler.get_current_account()
            result = getattr(handler, method)()
        except Exception:  # noqa: BLE001 - any refusal is moto's to format: its full path answers the same read
            return None
        if not isinstance(result, DynamoResult) or not isinstance(result.result, dict):
            return None
        payload = dumps(result.result).encode("utf-8")
        return [
            ("Content-Type", CONTENT_TYPE),
            ("server", "amazon.com"),
            ("x-amzn-requestid", os.urandom(26).hex()),
            ("x-amz-crc32", str(zlib.crc32(payload))),
            ("Access-Control-Allow-Origin", "*"),
        ], payload
