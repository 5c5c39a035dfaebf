"""The embedded emulator keeps DynamoDB semantics while answering from partition indexes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from infra.local.emulator import build_server
from infra.local.provision import create_table
from tests.stack_process import free_port


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[object]:
    port = free_port()
    server = build_server("127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    create_table(endpoint, "us-east-1", "emu")
    client = boto3.client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    yield client
    server.shutdown()


def _put(client: object, pk: str, gsi: str | None, sk: str = "1") -> None:
    item = {"PK": {"S": pk}, "SK": {"S": sk}, "entity": {"S": "t"}}
    if gsi is not None:
        item |= {"GSI1PK": {"S": gsi}, "GSI1SK": {"S": pk}}
    client.put_item(TableName="emu", Item=item)


def _gsi(client: object, value: str) -> list[str]:
    response = client.query(
        TableName="emu",
        IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :v",
        ExpressionAttributeValues={":v": {"S": value}},
    )
    return [item["PK"]["S"] for item in response["Items"]]


def test_gsi_queries_follow_puts_updates_and_deletes(dynamodb: object) -> None:
    _put(dynamodb, "a", "g1")
    _put(dynamodb, "b", "g1")
    _put(dynamodb, "c", None)
    assert _gsi(dynamodb, "g1") == ["a", "b"]
    dynamodb.update_item(
        TableName="emu",
        Key={"PK": {"S": "a"}, "SK": {"S": "1"}},
        UpdateExpression="SET GSI1PK = :v",
        ExpressionAttributeValues={":v": {"S": "g2"}},
    )
    assert _gsi(dynamodb, "g1") == ["b"] and _gsi(dynamodb, "g2") == ["a"]
    _put(dynamodb, "b", None)  # overwritten without the GSI attribute: leaves the index
    assert _gsi(dynamodb, "g1") == []
    dynamodb.delete_item(TableName="emu", Key={"PK": {"S": "a"}, "SK": {"S": "1"}})
    assert _gsi(dynamodb, "g2") == []


def test_base_table_query_reads_one_partition(dynamodb: object) -> None:
    for sk in ("1", "2", "3"):
        _put(dynamodb, "part", None, sk)
    response = dynamodb.query(
        TableName="emu",
        KeyConditionExpression="PK = :p AND SK >= :s",
        ExpressionAttributeValues={":p": {"S": "part"}, ":s": {"S": "2"}},
        ScanIndexForward=False,
    )
    assert [item["SK"]["S"] for item in response["Items"]] == ["3", "2"]


def test_a_failed_transaction_writes_nothing(dynamodb: object) -> None:
    _put(dynamodb, "taken", "tx")
    with pytest.raises(ClientError) as failure:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "emu",
                        "Item": {
                            "PK": {"S": "new"},
                            "SK": {"S": "1"},
                            "entity": {"S": "t"},
                            "GSI1PK": {"S": "tx"},
                            "GSI1SK": {"S": "new"},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": "emu",
                        "Item": {"PK": {"S": "taken"}, "SK": {"S": "1"}, "entity": {"S": "t"}},
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
            ]
        )
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in failure.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    assert _gsi(dynamodb, "tx") == ["taken"]


def test_queries_read_only_their_partition(dynamodb: object, monkeypatch: pytest.MonkeyPatch) -> None:
    with (
        boto3.resource(
            "dynamodb",
            endpoint_url=dynamodb.meta.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        .Table("emu")
        .batch_writer() as batch
    ):
        for n in range(300):
            batch.put_item(
                Item={"PK": f"bulk{n}", "SK": "1", "entity": "t", "GSI1PK": f"bulk{n % 10}", "GSI1SK": str(n)}
            )
    from moto.dynamodb.models.table import Table

    walked: list[int] = []
    original = Table.all_items

    def counting(self: Table) -> list[object]:
        items = original(self)
        walked.append(len(items))
        return items

    # The emulator runs in this process (a thread): a whole-table walk would show up here.
    monkeypatch.setattr(Table, "all_items", counting)
    assert len(_gsi(dynamodb, "bulk3")) == 30
    response = dynamodb.query(
        TableName="emu", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "bulk7"}}
    )
    assert len(response["Items"]) == 1
    assert walked == []
