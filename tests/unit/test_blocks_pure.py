"""Pure block logic: checksums agree with the prefect client's, secrets are masked and kept."""

from __future__ import annotations

import json

import pytest
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock, SlackWebhook
from prefect.blocks.system import Secret
from prefect.blocks.webhook import Webhook
from prefect.filesystems import LocalFileSystem, RemoteFileSystem
from pydantic import SecretStr

from shared.blocks.checksum import schema_checksum
from shared.blocks.references import InvalidReference, split_references
from shared.blocks.secrets import OBFUSCATED, keep_unchanged_secrets, mask
from shared.storage.block_registration import DATA_PATH


class _Inner(Block):
    token: SecretStr
    host: str


class _Outer(Block):
    label: str
    inner: _Inner
    maybe: _Inner | None = None


@pytest.mark.parametrize(
    "block_class",
    [Secret, Webhook, LocalFileSystem, RemoteFileSystem, SlackWebhook, CustomWebhookNotificationBlock, _Inner, _Outer],
)
def test_checksum_matches_the_clients(block_class: type[Block]) -> None:
    fields = block_class.model_json_schema()
    assert schema_checksum(fields) == block_class._calculate_schema_checksum()


def test_bundled_system_schemas_of_client_blocks_keep_the_clients_checksums() -> None:
    data = json.loads(DATA_PATH.read_text())
    by_slug = {t["slug"]: t for t in data["block_types"]}
    assert {"secret", "webhook", "local-file-system"} <= {s for s, t in by_slug.items() if t["is_protected"]}
    for block_class in (Secret, Webhook, LocalFileSystem, SlackWebhook):
        checksums = {s["checksum"] for s in by_slug[block_class.get_block_type_slug()]["block_schemas"]}
        assert block_class._calculate_schema_checksum() in checksums


def test_mask_leaves_wildcards_objects_and_nulls() -> None:
    data = {
        "a": "x",
        "password": "p",
        "headers": {"k": "v", "j": "w"},
        "creds": {"token": "t", "user": "u"},
        "blob": {"x": 1},
        "none": None,
    }
    masked = mask(data, ["password", "headers.*", "creds.token", "blob", "none"])
    assert masked == {
        "a": "x",
        "password": OBFUSCATED,
        "headers": {"k": OBFUSCATED, "j": OBFUSCATED},
        "creds": {"token": OBFUSCATED, "user": "u"},
        "blob": OBFUSCATED,
        "none": None,
    }
    assert list(masked) == list(data)
    assert mask(data, []) is data


def test_masked_values_posted_back_keep_the_stored_secrets() -> None:
    current = {"password": "p", "headers": {"k": "v"}, "blob": {"x": 1}, "user": "u"}
    update = {"password": OBFUSCATED, "headers": {"k": OBFUSCATED}, "blob": OBFUSCATED, "user": "new"}
    kept = keep_unchanged_secrets(update, current, ["password", "headers.*", "blob"])
    assert kept == {"password": "p", "headers": {"k": "v"}, "blob": {"x": 1}, "user": "new"}
    changed = keep_unchanged_secrets({"password": "p2"}, current, ["password"])
    assert changed == {"password": "p2"}


def test_split_references() -> None:
    ref = "1d2b7e6a-5b43-4c4e-9a0f-0c1d2e3f4a5b"
    plain, refs = split_references({"a": 1, "child": {"$ref": {"block_document_id": ref}}, "deep": {"x": {"$ref": {}}}})
    assert plain == {"a": 1, "deep": {"x": {"$ref": {}}}} and {k: str(v) for k, v in refs.items()} == {"child": ref}
    with pytest.raises(InvalidReference):
        split_references({"child": {"$ref": {}}})
    with pytest.raises(InvalidReference):
        split_references({"child": {"$ref": {"block_document_id": "not-a-uuid"}}})
