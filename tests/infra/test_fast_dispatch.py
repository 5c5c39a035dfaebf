"""The emulator's fast DynamoDB and Streams calls answer what moto's full path answers, over its keep-alive server."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from infra.local import fast_dispatch
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
    _create_table(client, "t")
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


def _served(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which path answered each call from now on: "fast", or "moto" (its full path)."""
    served: list[str] = []
    original = fast_dispatch.FastDispatch.answer

    def counted(
        self: fast_dispatch.FastDispatch, call: fast_dispatch.Call, body: bytes, environ: dict[str, Any]
    ) -> Any:
        answer = original(self, call, body, environ)
        served.append("fast" if answer is not None else "moto")
        return answer

    monkeypatch.setattr(fast_dispatch.FastDispatch, "answer", counted)
    return served


def test_fast_reads_answer_as_motos_full_path(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served(monkeypatch)
    ours = _reads(ddb)
    assert served == ["fast"] * 7 + ["moto"] * 2
    monkeypatch.setattr(fast_dispatch, "FAST_CALLS", {})
    assert ours == _reads(ddb)
    assert [item["SK"]["S"] for item in ours[0]["Items"]] == ["2", "3"] and ours[0]["LastEvaluatedKey"]
    assert ours[2]["Items"] == [
        {"PK": {"S": "p"}, "SK": {"S": "3"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}, "uni": {"S": "é中😀"}},
        {"PK": {"S": "p"}, "SK": {"S": "4"}, "m": {"M": {"x": {"L": [{"S": "y"}]}}}, "uni": {"S": "é中😀"}},
    ]
    assert ours[7]["Code"] == "ResourceNotFoundException"


def _writes(ddb: Any, table: str) -> list[Any]:
    """A run of writes, taken and refused, on `table` (`_streamed_table`), with each answer or error, then its items."""
    key = {"PK": {"S": "w"}, "SK": {"S": "1"}}
    absent = "attribute_not_exists(PK)"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("put_item", {"Item": ITEM | key, "ConditionExpression": absent}),
        ("put_item", {"Item": ITEM | key, "ConditionExpression": absent}),  # refused: it exists
        (
            "put_item",
            {
                "Item": ITEM | key | {"n": {"N": "2"}},
                "ConditionExpression": "n = :one",
                "ExpressionAttributeValues": {":one": {"N": "1.5"}},
                "ReturnValues": "ALL_OLD",
                "ReturnConsumedCapacity": "TOTAL",
            },
        ),
        (
            "update_item",
            {
                "Key": {"PK": {"S": "p"}, "SK": {"S": "1"}},
                "UpdateExpression": "ADD #c :one SET GSI1PK = :g, GSI1SK = :s",
                "ExpressionAttributeNames": {"#c": "count"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":g": {"S": "g"}, ":s": {"S": "s1"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "update_item",
            {
                "Key": {"PK": {"S": "p"}, "SK": {"S": "1"}},
                "UpdateExpression": "SET #c = :zero",
                "ConditionExpression": "#c > :ten",
                "ExpressionAttributeNames": {"#c": "count"},
                "ExpressionAttributeValues": {":zero": {"N": "0"}, ":ten": {"N": "10"}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        ),
        ("update_item", {"Key": {"PK": {"S": "p"}}, "UpdateExpression": "SET a = :a"}),  # refused: half a key
        ("put_item", {"Item": {"PK": {"S": ""}, "SK": {"S": "x"}}}),  # refused: an empty key
        ("delete_item", {"Key": key, "ConditionExpression": "attribute_exists(nope)"}),  # refused
        ("delete_item", {"Key": key, "ReturnValues": "ALL_OLD"}),
        (
            "batch_write_item",
            {
                "RequestItems": {
                    table: [
                        {"PutRequest": {"Item": {"PK": {"S": "b"}, "SK": {"S": str(i)}, "b": {"B": b"\x01"}}}}
                        for i in range(3)
                    ]
                    + [{"DeleteRequest": {"Key": {"PK": {"S": "p"}, "SK": {"S": "1"}}}}]
                }
            },
        ),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": table, "Item": {"PK": {"S": "x"}, "SK": {"S": "1"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"PK": {"S": "b"}, "SK": {"S": "0"}},
                            "ConditionExpression": "attribute_exists(PK)",
                        }
                    },
                ]
            },
        ),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Put": {"TableName": table, "Item": {"PK": {"S": "y"}, "SK": {"S": "1"}}}},
                    {"Delete": {"TableName": table, "Key": {"PK": {"S": "x"}, "SK": {"S": "1"}}}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": {"PK": {"S": "b"}, "SK": {"S": "0"}},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                ]
            },
        ),  # refused: cancelled with a reason per item, nothing written
        ("put_item", {"Item": {"PK": {"S": "z"}, "SK": {"S": "1"}}, "TableName": "missing"}),  # refused
    ]
    answers: list[Any] = []
    for method, params in calls:
        params = {"TableName": table} | params if method not in ("batch_write_item", "transact_write_items") else params
        try:
            response = getattr(ddb, method)(**params)
            response.pop("ResponseMetadata", None)
            answers.append(response)
        except ddb.exceptions.ClientError as error:
            answers.append(
                (error.response["Error"], error.response.get("CancellationReasons"), error.response.get("Item"))
            )
    stored = ddb.scan(TableName=table, ConsistentRead=True)["Items"]
    answers.append(sorted(stored, key=lambda item: (item["PK"]["S"], item["SK"]["S"])))
    return answers


def _create_table(ddb: Any, name: str, **extra: Any) -> None:
    """A table keyed PK/SK with one GSI (GSI1PK/GSI1SK, all attributes), as the emulator's tests need."""
    ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")],
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
        **extra,
    )


def _streamed_table(ddb: Any, name: str) -> None:
    """A table with its stream on and one item (ITEM at p/1), for `_writes`."""
    _create_table(ddb, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.put_item(TableName=name, Item=ITEM | {"SK": {"S": "1"}})


def _stream(ddb: Any, table: str) -> list[Any]:
    """The table's stream records (GetShardIterator, then GetRecords), without their ids and times."""
    streams = boto3.client(
        "dynamodbstreams",
        endpoint_url=ddb.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=100)["Records"]
    return [(r["eventName"], r["dynamodb"].get("Keys"), r["dynamodb"].get("NewImage")) for r in records]


def test_fast_writes_answer_and_store_as_motos_full_path(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    served = _served(monkeypatch)
    _streamed_table(ddb, "fast")
    ours = _writes(ddb, "fast")
    ours_stream = _stream(ddb, "fast")
    # Writes the parser takes are answered here, refused or not; reads refused go to moto's path.
    assert served.count("fast") >= 15 and served.count("moto") == 0, served
    monkeypatch.setattr(fast_dispatch, "FAST_CALLS", {})
    _streamed_table(ddb, "moto")
    theirs = _writes(ddb, "moto")

    def named(answers: list[Any], table: str) -> str:
        return repr(answers).replace(f"'{table}'", "'TABLE'").replace(f":table/{table}", ":table/TABLE")

    assert named(ours, "fast") == named(theirs, "moto")
    assert ours_stream == _stream(ddb, "moto")
    assert [type(a).__name__ for a in ours[:3]] == ["dict", "tuple", "dict"] and ours[2]["Attributes"]["n"] == {
        "N": "1.50"
    }
    assert ours[1][0]["Code"] == "ConditionalCheckFailedException"
    assert ours[4][2] is not None  # the item as it was, on a failed condition
    assert ours[11][0]["Code"] == "TransactionCanceledException" and ours[11][1][2]["Code"] == "ConditionalCheckFailed"
    assert [item["PK"]["S"] for item in ours[-1]] == ["b", "b", "b", "x"]


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
