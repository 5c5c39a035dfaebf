"""System block types on a fresh stack: registered once, on first use, even when registrars race."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from shared.storage import block_registration
from tests.aws_env import stack_aws_env
from tests.stack_process import StackProcess


@pytest.fixture(scope="module")
def fresh_stack() -> Iterator[StackProcess]:
    # Its own stack: the session stack's table has served block requests already.
    process = StackProcess(extra_args=["--no-schedules"]).start()
    try:
        yield process
    finally:
        process.stop()


def test_first_requests_and_other_registrars_racing_leave_one_set_of_system_blocks(fresh_stack: StackProcess) -> None:
    expected = block_registration.system_block_types()
    expected_schemas = sum(len(t["block_schemas"]) for t in expected)

    def first_request(_: int) -> tuple[int, float]:
        started = time.monotonic()
        with httpx.Client(base_url=fresh_stack.api_url, timeout=120) as http:
            status = http.get("/block_types/slug/secret").status_code
        return status, time.monotonic() - started

    def other_container(_: int) -> int:
        # Another Lambda container registering at the same moment (same code, same table).
        return block_registration.register()

    with stack_aws_env(fresh_stack.aws_endpoint_url), ThreadPoolExecutor(max_workers=8) as pool:
        requests = [pool.submit(first_request, i) for i in range(5)]
        registrars = [pool.submit(other_container, i) for i in range(3)]
        results = [f.result() for f in requests]
        [f.result() for f in registrars]
    assert [status for status, _ in results] == [200] * 5
    print(
        f"first block request on a fresh stack: {max(seconds for _, seconds in results):.2f} s (registration included)"
    )

    with httpx.Client(base_url=fresh_stack.api_url, timeout=60) as http:
        types = http.post("/block_types/filter", json={}).json()
        schemas = http.post("/block_schemas/filter", json={}).json()
        protected = {t["slug"] for t in types if t["is_protected"]}
        again = http.post("/block_types/install_system_block_types")
        assert again.status_code == 200
        assert len(http.post("/block_types/filter", json={}).json()) == len(types)
    slugs = Counter(t["slug"] for t in types)
    assert set(slugs) == {t["slug"] for t in expected} and max(slugs.values()) == 1
    assert len(schemas) == expected_schemas == len({(s["checksum"], s["version"]) for s in schemas})
    assert protected == {"secret", "webhook", "local-file-system"}
    assert {s["block_type_id"] for s in schemas} == {t["id"] for t in types}


def test_install_system_block_types_restores_a_deleted_system_type(fresh_stack: StackProcess) -> None:
    with httpx.Client(base_url=fresh_stack.api_url, timeout=120) as http:
        slack = http.get("/block_types/slug/slack-webhook").json()
        assert http.delete(f"/block_types/{slack['id']}").status_code == 204  # not protected
        assert http.get("/block_types/slug/slack-webhook").status_code == 404
        assert http.post("/block_types/install_system_block_types").status_code == 200
        restored = http.get("/block_types/slug/slack-webhook").json()
        schemas = http.post(
            "/block_schemas/filter", json={"block_schemas": {"block_type_id": {"any_": [restored["id"]]}}}
        ).json()
    assert (
        restored["name"] == slack["name"]
        and schemas
        and all(s["block_type"]["slug"] == "slack-webhook" for s in schemas)
    )
