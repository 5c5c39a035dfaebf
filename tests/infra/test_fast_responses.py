"""Item-heavy read responses serialised directly are the ones moto's serializer writes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import utilities as moto_utilities
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.responses import DynamoResult

from infra.local import fast_responses, moto_speedups
from infra.local.emulator import build_server

ITEM = {
    "PK": {"S": "p"},
    "SK": {"S": "1"},
    "n": {"N": "1.50"},
    "b": {"B": b"\x00\xff"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "m": {"M": {"x": {"L": [{"S": "y"}, {"NULL": True}, {"BOOL": False}]}}},
    "uni": {"S": "é中😀"},
}


@pytest.fixture()
def client() -> Iterator[Any]:
    moto_speedups.apply()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        ddb.create_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        )
        for sk in ("1", "2", "3"):
            ddb.put_item(TableName="t", Item=ITEM | {"SK": {"S": sk}})
        yield ddb


def _calls(ddb: Any) -> list[dict[str, Any]]:
    key = {"PK": {"S": "p"}, "SK": {"S": "1"}}
    responses = [
        ddb.query(
            TableName="t",
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Limit=2,
            ReturnConsumedCapacity="TOTAL",
        ),
        ddb.query(
            TableName="t",
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": "p"}},
            Select="COUNT",
        ),
        ddb.query(TableName="t", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "none"}}),
        ddb.get_item(TableName="t", Key=key),
        ddb.get_item(TableName="t", Key={"PK": {"S": "p"}, "SK": {"S": "missing"}}),
        ddb.batch_get_item(RequestItems={"t": {"Keys": [key, {"PK": {"S": "p"}, "SK": {"S": "9"}}]}}),
        ddb.scan(TableName="t", Limit=1),
    ]
    for response in responses:
        response.pop("ResponseMetadata", None)
    return responses


def test_direct_json_equals_motos_serializer(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _calls(client)
    monkeypatch.setattr(DynamoResult, "execute_result", fast_responses.moto_execute_result)
    assert ours == _calls(client)
    assert ours[0]["Items"][0]["b"] == {"B": b"\x00\xff"} and ours[0]["LastEvaluatedKey"]


def test_errors_keep_motos_serializer(client: Any) -> None:
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.query(
            TableName="missing", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "p"}}
        )


def test_stream_records_direct_json_equals_motos_serializer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Served by the emulator's own app on loopback: moto's in-process mock does not route DynamoDB Streams.
    server = build_server("127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        session = {
            "endpoint_url": f"http://127.0.0.1:{server.server_port}",
            "region_name": "us-east-1",
            "aws_access_key_id": "x",
            "aws_secret_access_key": "x",
        }
        ddb = boto3.client("dynamodb", **session)
        arn = ddb.create_table(
            TableName="s",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )["TableDescription"]["LatestStreamArn"]
        for pk in ("1", "2"):
            ddb.put_item(TableName="s", Item={k: v for k, v in ITEM.items() if k != "SK"} | {"PK": {"S": pk}})
        streams = boto3.client("dynamodbstreams", **session)
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

        def records() -> list[dict[str, Any]]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
            return list(streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=10)["Records"])

        ours = records()
        monkeypatch.setattr(fast_responses.DynamoDBStreamsHandler, "get_records", fast_responses.moto_get_records)
        assert ours == records()
        assert len(ours) == 2 and ours[0]["dynamodb"]["NewImage"]["b"] == {"B": b"\x00\xff"}
    finally:
        server.shutdown()


def test_read_results_convert_every_attribute_type_as_moto_does(client: Any) -> None:
    original = moto_speedups.moto_dynamo_to_dict
    assert original is not None and moto_utilities.dynamo_to_dict is not original
    result = {"Items": [{name: DynamoType(value) for name, value in ITEM.items()}], "Count": 1, "ScannedCount": 1}
    assert moto_utilities.dynamo_to_dict(result) == original(result)
