"""The emulator's fast DynamoDB reads answer what moto's full path answers, over its keep-alive server."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.local import fast_reads
from infra.local.emulator import build_server
from infra.local.http_server import KeepAliveServer

ITEM = {
    "PK": {"S": "p"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\xff"},
    "ss": {"SS": ["a", "b"]},
    "m": {"M": {"x": {"L": [{"S": "y"}, {"NULL": True}, {"BOOL": False}]}}},
    "uni": {"S": "é中😀"},
}


@pytest.fixture(scope="module")
def ddb() -> Iterator[Any]:
    server = build_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{server.server_port}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    client.create_table(
        TableName="t",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"} for name in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for sk in ("1", "2", "3", "4"):
        client.put_item(TableName="t", Item=ITEM | {"SK": {"S": sk}, "GSI1PK": {"S": "g"}, "GSI1SK": {"S": f"s{sk}"}})
    yield client
    server.shutdown()
    server.server_close()


def _reads(ddb: Any) -> list[Any]:
    key = {"PK": {"S": "p"}, "SK": {"S": "1"}}
    gsi = {"TableName": "t", "IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :g AND GSI1SK >= :s"}
    values = {":g": {"S": "g"}, ":s": {"S": "s2"}}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("query", gsi | {"ExpressionAttributeValues": values, "Limit": 2, "ReturnConsumedCapacity": "TOTAL"}),
        ("query", gsi | {"ExpressionAttributeValues": values, "ScanIndexForward": False, "Select": "COUNT"}),
        (
            "query",
            gsi
            | {
                "ExpressionAttributeValues": values | {":b": {"B": b"\x00\xff"}},
                "FilterExpression": "b = :b AND #n > :s",
                "ExpressionAttributeNames": {"#n": "uni"},
                "ProjectionExpression": "PK, SK, m.x[0], #n",
                "ExclusiveStartKey": {
                    "PK": {"S": "p"},
                    "SK": {"S": "2"},
                    "GSI1PK": {"S": "g"},
                    "GSI1SK": {"S": "s2"},
                },
            },
        ),
        (
            "query",
            {"TableName": "t", "KeyConditionExpression": "PK = :p", "ExpressionAttributeValues": {":p": {"S": "none"}}},
        ),
        ("get_item", {"TableName": "t", "Key": key, "ConsistentRead": True}),
        ("get_item", {"TableName": "t", "Key": {"PK": {"S": "p"}, "SK": {"S": "missing"}}}),
        ("batch_get_item", {"RequestItems": {"t": {"Keys": [key, {"PK": {"S": "p"}, "SK": {"S": "9"}}]}}}),
        # Refused reads: moto's full path answers them (same error, same message).
        (
            "query",
            {
                "TableName": "missing",
                "KeyConditionExpression": "PK = :p",
                "ExpressionAttributeValues": {":p": {"S": "p"}},
            },
        ),
        ("get_item", {"TableName": "t", "Key": {"PK": {"S": "p"}}}),
    ]
    answers: list[Any] = []
    for method, params in calls:
        try:
            response = getattr(ddb, method)(**params)
            response.pop("ResponseMetadata", None)
            answers.append(response)
        except ddb.exceptions.ClientError as error:
            answers.append(error.response["Error"])
    return answers


def test_fast_reads_answer_as_motos_full_path(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[str] = []
    original = fast_reads.FastReads.answer

    def counted(self: fast_reads.FastReads, read: tuple[str, str], body: bytes, environ: dict[str, Any]) -> Any:
        answer = original(self, read, body, environ)
        served.append("fast" if answer is not None else "moto")
        return answer

    monkeypatch.setattr(fast_reads.FastReads, "answer", counted)
    ours = _reads(ddb)
    assert served == ["fast"] * 7 + ["moto"] * 2
    monkeypatch.setattr(fast_reads, "FAST_READS", {})
    assert ours == _reads(ddb)
    assert [item["SK"]["S"] for item in ours[0]["Items"]] == ["2", "3"] and ours[0]["LastEvaluatedKey"]
    assert ours[2]["Items"] == [
        {"PK": {"S": "p"}, "SK": {"S": "3"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}, "uni": {"S": "é中😀"}},
        {"PK": {"S": "p"}, "SK": {"S": "4"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}, "uni": {"S": "é中😀"}},
    ]
    assert ours[7]["Code"] == "ResourceNotFoundException"


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "999")])
    answer = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {environ.get('HTTP_X_A', '')} ".encode() + body
    return [answer]


def test_server_keeps_connections_and_reads_every_body_shape() -> None:
    server = KeepAliveServer("127.0.0.1", 0, _echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        connection.request("POST", "/a%20b", body=b"one", headers={"X-A": "1"})
        first = connection.getresponse()
        assert (first.status, first.read()) == (200, b"POST /a b 1 one")
        sock = connection.sock
        connection.request(
            "POST", "/", body=iter([b"chunk", b"ed"]), headers={"Transfer-Encoding": "chunked"}, encode_chunked=True
        )
        assert connection.getresponse().read() == b"POST /  chunked"
        connection.request("PUT", "/", body=b"x" * 10, headers={"Expect": "100-continue"})
        assert connection.getresponse().read() == b"PUT /  " + b"x" * 10
        connection.request("HEAD", "/")
        head = connection.getresponse()
        assert head.getheader("Content-Length") == "999" and head.read() == b""
        assert connection.sock is sock  # one connection for all four
        connection.request("GET", "/", headers={"Connection": "close"})
        closing = connection.getresponse()
        assert closing.getheader("Connection") == "close" and closing.read() == b"GET /  "
        raw = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
        raw.connect()
        assert raw.sock is not None
        raw.sock.sendall(b"NONSENSE\r\n\r\n")
        assert raw.sock.recv(100).startswith(b"HTTP/1.1 400")
    finally:
        server.shutdown()
        server.server_close()
