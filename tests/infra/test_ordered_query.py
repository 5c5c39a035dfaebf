"""The emulator's ordered Query answers exactly as moto's own Query, page by page.

Random partitions (string and number sort keys, GSIs with tied sort keys, items
missing index attributes) are queried with random key conditions, directions,
limits and filters, following LastEvaluatedKey to the end; every page must equal
moto's (Items, Count, ScannedCount, LastEvaluatedKey). Writes between rounds
(overwrites, updates moving GSI keys, deletes, transactions) keep the indexes honest.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from infra.local import moto_speedups, ordered_query
from infra.local.sorted_partitions import indexes

STRING_PARTS = ["a", "b", "ab", "abc", "b0", "é", "z", "中", "😀", "A", "a-1", "a_1", "0"]


@pytest.fixture()
def client() -> Iterator[Any]:
    moto_speedups.apply()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        for name, sk_type in (("strings", "S"), ("numbers", "N")):
            ddb.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": sk_type},
                    {"AttributeName": "GPK", "AttributeType": "S"},
                    {"AttributeName": "GSK", "AttributeType": sk_type},
                ],
                KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "GIX",
                        "Projection": {"ProjectionType": "ALL"},
                        "KeySchema": [
                            {"AttributeName": "GPK", "KeyType": "HASH"},
                            {"AttributeName": "GSK", "KeyType": "RANGE"},
                        ],
                    }
                ],
            )
        yield ddb


def _value(rng: random.Random, sk_type: str) -> dict[str, str]:
    if sk_type == "N":
        return {"N": rng.choice(["-10", "-2.5", "0", "1", "2", "2.50", "3", "10", "11", "100", "1e3", "-0.001"])}
    return {"S": "".join(rng.choice(STRING_PARTS) for _ in range(rng.randint(1, 3)))}


def _item(rng: random.Random, sk_type: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "PK": {"S": rng.choice(["p0", "p1"])},
        "SK": _value(rng, sk_type),
        "v": {"N": str(rng.randint(0, 9))},
    }
    roll = rng.random()
    if roll < 0.7:
        item["GPK"] = {"S": rng.choice(["g0", "g1"])}
        # Few distinct GSI sort keys: ties must order by the table key, as moto does.
        item["GSK"] = rng.choice([_value(rng, sk_type), {"S": "t"} if sk_type == "S" else {"N": "5"}])
    elif roll < 0.8:
        item["GPK"] = {"S": "g0"}  # no GSI sort key: not in the index
    return item


def _condition(rng: random.Random, sk_type: str, sort_attr: str) -> tuple[str, dict[str, Any]]:
    op = rng.choice(["", "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with"])
    if op == "begins_with" and sk_type == "N":
        op = ">="
    if not op:
        return "", {}
    first, second = _value(rng, sk_type), _value(rng, sk_type)
    if op == "BETWEEN":
        low, high = sorted([first, second], key=lambda v: float(v["N"]) if sk_type == "N" else v["S"])
        return f" AND {sort_attr} BETWEEN :a AND :b", {":a": low, ":b": high}
    if op == "begins_with":
        return f" AND begins_with({sort_attr}, :a)", {":a": {"S": first["S"][: rng.randint(1, 2)]}}
    return f" AND {sort_attr} {op} :a", {":a": first}


def _pages(ddb: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    kwargs = dict(request)
    for _ in range(200):
        response = ddb.query(**kwargs)
        response.pop("ResponseMetadata", None)
        pages.append(response)
        if "LastEvaluatedKey" not in response:
            return pages
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    raise AssertionError("pagination did not end")


def _random_request(rng: random.Random, table: str, sk_type: str) -> dict[str, Any]:
    on_index = rng.random() < 0.5
    hash_attr, sort_attr = ("GPK", "GSK") if on_index else ("PK", "SK")
    extra, values = _condition(rng, sk_type, sort_attr)
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": f"{hash_attr} = :h{extra}",
        "ExpressionAttributeValues": {
            ":h": {"S": rng.choice(["g0", "g1", "g9"] if on_index else ["p0", "p1", "p9"])},
            **values,
        },
        "ScanIndexForward": rng.random() < 0.5,
    }
    if on_index:
        request["IndexName"] = "GIX"
    if rng.random() < 0.7:
        request["Limit"] = rng.randint(1, 7)
    roll = rng.random()
    if roll < 0.3:
        request["FilterExpression"] = "v >= :f"
        request["ExpressionAttributeValues"][":f"] = {"N": str(rng.randint(0, 9))}
    elif roll < 0.5:  # `attribute = :string`, tested on the value directly (missing on some items)
        request["FilterExpression"] = "GPK = :f"
        request["ExpressionAttributeValues"][":f"] = {"S": rng.choice(["g0", "g1"])}
    roll = rng.random()
    if roll < 0.2:
        request["ProjectionExpression"] = "PK, SK, v"
    elif roll < 0.4:
        request["Select"] = "COUNT"  # the storage layer's counts: Count and ScannedCount without the items
    return request


def _mutate(rng: random.Random, ddb: Any, table: str, sk_type: str, written: list[dict[str, Any]]) -> None:
    for _ in range(15):
        roll = rng.random()
        if roll < 0.4 or not written:
            item = _item(rng, sk_type)
            ddb.put_item(TableName=table, Item=item)
            written.append(item)
            continue
        target = rng.choice(written)
        key = {"PK": target["PK"], "SK": target["SK"]}
        if roll < 0.6:
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET GPK = :g, GSK = :s",
                ExpressionAttributeValues={":g": {"S": rng.choice(["g0", "g1"])}, ":s": _value(rng, sk_type)},
            )
        elif roll < 0.7:
            ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE GSK")
        elif roll < 0.85:
            ddb.delete_item(TableName=table, Key=key)
        else:
            item = _item(rng, sk_type)
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": item}},
                    {"Delete": {"TableName": table, "Key": key}},
                ]
                if (item["PK"], item["SK"]) != (key["PK"], key["SK"])
                else [{"Put": {"TableName": table, "Item": item}}]
            )
            written.append(item)


@pytest.mark.parametrize(("table", "sk_type"), [("strings", "S"), ("numbers", "N")])
def test_ordered_query_pages_equal_motos(
    client: Any, monkeypatch: pytest.MonkeyPatch, table: str, sk_type: str
) -> None:
    assert moto_speedups.moto_query is not None
    answered = moto_speedups.ordered_query

    def ordered_only(*args: Any) -> Any:
        answer = answered(*args)
        assert answer is not None, "every query shape here must take the ordered path, not moto's"
        return answer

    monkeypatch.setattr(moto_speedups, "ordered_query", ordered_only)
    rng = random.Random(f"ordered-{sk_type}")
    written: list[dict[str, Any]] = []
    for _ in range(80):
        item = _item(rng, sk_type)
        client.put_item(TableName=table, Item=item)
        written.append(item)
    compared = 0
    for _ in range(6):
        _mutate(rng, client, table, sk_type, written)
        for _ in range(40):
            request = _random_request(rng, table, sk_type)
            ours = _pages(client, request)
            with monkeypatch.context() as reference:
                reference.setattr(Table, "query", moto_speedups.moto_query)
                theirs = _pages(client, request)
            assert ours == theirs, request
            compared += len(ours)
    assert compared > 240


def test_query_walks_only_the_page(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(500):
        client.put_item(
            TableName="strings",
            Item={"PK": {"S": "big"}, "SK": {"S": f"{n:04d}"}, "GPK": {"S": "g"}, "GSK": {"S": f"{n:04d}"}},
        )
    read: list[object] = []
    original = ordered_query.lookup

    def counting(table: Any, key: Any) -> Any:
        read.append(key)
        return original(table, key)

    monkeypatch.setattr(ordered_query, "lookup", counting)
    for index in ({}, {"IndexName": "GIX"}):
        hash_attr, sort_attr = ("GPK", "GSK") if index else ("PK", "SK")
        response = client.query(
            TableName="strings",
            **index,
            KeyConditionExpression=f"{hash_attr} = :h AND {sort_attr} >= :s",
            ExpressionAttributeValues={":h": {"S": "g" if index else "big"}, ":s": {"S": "0100"}},
            Limit=10,
            ScanIndexForward=False,
        )
        assert [item["SK"]["S"] for item in response["Items"]] == [f"{n:04d}" for n in range(499, 489, -1)]
        assert response["LastEvaluatedKey"]["SK"] == {"S": "0490"}
    # Each query reads its 10 items and the one that ends the page, not the partition.
    assert len(read) == 2 * 11


def test_binary_sort_keys_order_bytewise(client: Any) -> None:
    client.create_table(
        TableName="bins",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "B"},
        ],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    # DynamoDB orders binary bytewise (unsigned); their base64 texts would order them differently.
    values = [b"\x00", b"\x01\xff", b"\x7f", b"\x80", b"\xf8", b"\xff", b"\xff\x00", b"a", b"ab"]
    for value in values:
        client.put_item(TableName="bins", Item={"PK": {"S": "p"}, "SK": {"B": value}})
    response = client.query(
        TableName="bins",
        KeyConditionExpression="PK = :p AND SK >= :s",
        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"B": b"\x7f"}},
    )
    assert [item["SK"]["B"] for item in response["Items"]] == sorted(v for v in values if v >= b"\x7f")


def test_indexes_rebuild_from_items_written_around_them(client: Any) -> None:
    client.put_item(TableName="strings", Item={"PK": {"S": "r"}, "SK": {"S": "1"}})
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends["123456789012"]["us-east-1"].get_table("strings")
    # A restore that bypasses put_item (as a pickled backend would) must not hide items from Query.
    table.__dict__.pop("_sf_ordered", None)
    assert indexes(table).partitions[""]  # rebuilt from moto's storage on first use
    response = client.query(
        TableName="strings", KeyConditionExpression="PK = :p", ExpressionAttributeValues={":p": {"S": "r"}}
    )
    assert [item["SK"]["S"] for item in response["Items"]] == ["1"]
