"""The single DynamoDB table as a pynamodb model.

Every entity is one `TableItem`: generic keys (PK/SK), eight overloaded GSIs, the
entity's JSON body, and the few attributes that conditional writes test
(state_id, state_timestamp). Entity-specific keys are built by the repositories;
the index names and key attributes here must match template.yaml (a test checks).
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import Attribute, NumberAttribute, UnicodeAttribute
from pynamodb.constants import BINARY, STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from shared.config import Settings, get_settings
from shared.storage.body_codec import RAW, StoredText, pack, unpack

GSI_COUNT = 8


def _index(n: int) -> type[GlobalSecondaryIndex[Any]]:
    attrs: dict[str, Any] = {
        "Meta": type("Meta", (), {"index_name": f"GSI{n}", "projection": AllProjection()}),
        f"GSI{n}PK": UnicodeAttribute(hash_key=True),
        f"GSI{n}SK": UnicodeAttribute(range_key=True),
    }
    return type(f"GSI{n}", (GlobalSecondaryIndex,), attrs)


class CompactBody(Attribute[str]):
    """The entity's JSON, stored compressed as Binary (body_codec.py): a str in Python, so
    repositories and conditions (`TableItem.body == ...`) use it as text."""

    attr_type = BINARY

    def serialize(self, value: str) -> bytes:
        return pack(value)

    def deserialize(self, value: bytes) -> StoredText:
        return unpack(value)

    def get_value(self, value: dict[str, Any]) -> Any:
        if STRING in value:  # written before bodies were compacted: plain text
            return bytes([RAW]) + str(value[STRING]).encode("utf-8")
        return super().get_value(value)


def body_of_image(image: Mapping[str, Any]) -> str | None:
    """The body text of a stream record's item image (Binary arrives as bytes locally and as
    base64 text from Lambda's event source; String is a body written before compaction)."""
    value = image.get("body")
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("S"), str):
        return str(value["S"])
    stored = value.get("B")
    if isinstance(stored, str):
        stored = base64.b64decode(stored)
    if not isinstance(stored, (bytes, bytearray)):
        return None
    try:
        return unpack(bytes(stored))
    except (ValueError, UnicodeDecodeError, zlib.error):
        return None


GSI1, GSI2, GSI3, GSI4, GSI5, GSI6, GSI7, GSI8 = (_index(n) for n in range(1, GSI_COUNT + 1))


class TableItem(Model):
    class Meta:
        table_name = "serverflow"
        region = "us-east-1"
        host: str | None = None
        max_retry_attempts = 8
        base_backoff_ms = 25
        # One client is shared by a request's scatter workers (store.SCATTER_WORKERS) and, in a long-lived
        # server, every request thread: beyond the pool urllib3 drops a connection after its request and
        # the next one opens (and the endpoint accepts) a new one. Idle pooled sockets cost nothing.
        max_pool_connections = 64

    PK = UnicodeAttribute(hash_key=True)
    SK = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    body = CompactBody(null=True)
    # Conditional-write guards: a state change is written only if state_id still
    # equals the id the orchestration decision was based on.
    state_id = UnicodeAttribute(null=True)
    state_timestamp = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    # Concurrency limits: slot counters changed only by conditional UpdateItem (ADD), so
    # the check "active_slots + n <= slot_limit" and the increment are one atomic write.
    active_slots = NumberAttribute(null=True)
    denied_slots = NumberAttribute(null=True)
    avg_slot_occupancy_seconds = NumberAttribute(null=True)
    # Epoch seconds of the last change of active_slots / denied_slots: decay is measured from it.
    slots_changed_at = NumberAttribute(null=True)
    denied_changed_at = NumberAttribute(null=True)
    # Epoch seconds; DynamoDB TTL deletes events, logs and heartbeats after it.
    expires_at = NumberAttribute(null=True)
    # Plain text a stream consumer's FilterCriteria can match (the body is compressed): set only on the
    # items that consumer handles, e.g. "task_run" on the events the task-run recorder records.
    stream_feed = UnicodeAttribute(null=True)
    # On a task run's natural-key guard: the flow run created as the subflow this task run stands for
    # (task_run_keys.py), so a COUNT Query of a flow run's guards can leave such task runs out.
    child_flow_run_id = UnicodeAttribute(null=True)
    # On a keyed task run (task_run_keys.py): the states of it its creating recorder batch held, compressed like
    # the body (a JSON list), so that they need no history group of their own.
    held = CompactBody(null=True)

    GSI1PK = UnicodeAttribute(null=True)
    GSI1SK = UnicodeAttribute(null=True)
    GSI2PK = UnicodeAttribute(null=True)
    GSI2SK = UnicodeAttribute(null=True)
    GSI3PK = UnicodeAttribute(null=True)
    GSI3SK = UnicodeAttribute(null=True)
    GSI4PK = UnicodeAttribute(null=True)
    GSI4SK = UnicodeAttribute(null=True)
    GSI5PK = UnicodeAttribute(null=True)
    GSI5SK = UnicodeAttribute(null=True)
    GSI6PK = UnicodeAttribute(null=True)
    GSI6SK = UnicodeAttribute(null=True)
    GSI7PK = UnicodeAttribute(null=True)
    GSI7SK = UnicodeAttribute(null=True)
    GSI8PK = UnicodeAttribute(null=True)
    GSI8SK = UnicodeAttribute(null=True)

    gsi1 = GSI1()
    gsi2 = GSI2()
    gsi3 = GSI3()
    gsi4 = GSI4()
    gsi5 = GSI5()
    gsi6 = GSI6()
    gsi7 = GSI7()
    gsi8 = GSI8()


INDEXES: dict[str, GlobalSecondaryIndex[Any]] = {
    "GSI1": TableItem.gsi1,
    "GSI2": TableItem.gsi2,
    "GSI3": TableItem.gsi3,
    "GSI4": TableItem.gsi4,
    "GSI5": TableItem.gsi5,
    "GSI6": TableItem.gsi6,
    "GSI7": TableItem.gsi7,
    "GSI8": TableItem.gsi8,
}


def configure_table(settings: Settings | None = None) -> None:
    """Point the model at the configured table/endpoint (call after env changes)."""
    settings = settings or get_settings()
    TableItem.Meta.table_name = settings.table_name
    TableItem.Meta.region = settings.region
    TableItem.Meta.host = settings.aws_endpoint_url
    # pynamodb caches its connection per class; drop it so the new endpoint is used.
    TableItem._connection = None
    for index in INDEXES.values():
        index.Meta.model = TableItem


configure_table()
