"""Issue #14: the SDK never writes or reads (let alone unpickles) a result outside its storage root."""

from __future__ import annotations

from pathlib import Path

import pytest
from serverflow import flow, task
from serverflow.results import ResultStore, UnsafeResultKey

pytestmark = pytest.mark.timeout(90)


@task(persist_result=True, result_storage_key="{name}.json", result_serializer="json")
def stored(name: str) -> int:
    return 7


@flow
def store_under(name: str) -> int:
    return stored(name)


def test_a_task_key_climbing_out_of_the_root_writes_nothing_there(sdk_env: str, tmp_path: Path) -> None:
    outside = tmp_path / "escaped.json"
    # The SDK treats a result it cannot persist as a warning (the run still completes); it must not land outside.
    store_under("../escaped")
    assert not outside.exists()
    assert not list(tmp_path.glob("*.json"))
    assert store_under("inside") == 7
    assert (tmp_path / "results" / "inside.json").exists()


def test_read_record_refuses_a_location_outside_every_root(sdk_env: str, tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "results", serializer="json")
    metadata = store.write("ok.json", {"a": 1})
    assert ResultStore.read_record(metadata) == {"a": 1}
    planted = tmp_path / "planted.json"
    planted.write_text(store.backend.read("ok.json").decode())
    for location in (str(planted), str(tmp_path / "results" / ".." / "planted.json"), "/etc/passwd"):
        with pytest.raises(UnsafeResultKey):
            ResultStore.read_record({**metadata, "storage_key": location})
    for key in ("../x.json", "/abs.json", "a/../../x.json"):
        with pytest.raises(UnsafeResultKey):
            store.write(key, 1)
