"""Blocks with the real prefect 3.9.1 client and CLI against the local stack."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.prefect_env import prefect_env, run_script

PREFECT = str(Path(sys.executable).parent / "prefect")


@pytest.fixture(scope="module")
def suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def saved(api_url: str, suffix: str) -> dict[str, Any]:
    data, _ = run_script("blocks_client.py", api_url, suffix)
    return data


def _cli(api_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="prefect-home-") as home:
        # Wide enough that rich tables do not wrap names across lines.
        env = {**prefect_env(api_url, home), "COLUMNS": "300"}
        return subprocess.run([PREFECT, *args], env=env, capture_output=True, text=True, timeout=180)


def test_secret_saved_masked_in_api_and_loaded_in_clear(
    saved: dict[str, Any], client: httpx.Client, suffix: str
) -> None:
    assert saved["secret"] == "s3cr3t-value"
    assert saved["save_twice"] == "refused"
    assert saved["secret_rotated"] == "rotated-value"
    assert saved["flow_secret"] == "rotated-value"  # a task inside a flow loads it too
    masked = client.get(f"/block_types/slug/secret/block_documents/name/secret-{suffix}").json()
    assert masked["data"] == {"value": "********"}
    clear = client.get(
        f"/block_types/slug/secret/block_documents/name/secret-{suffix}", params={"include_secrets": True}
    ).json()
    assert clear["data"] == {"value": "rotated-value"}


def test_json_value_and_webhook_round_trip_with_secrets_masked(
    saved: dict[str, Any], client: httpx.Client, suffix: str
) -> None:
    assert saved["json"] == {"rows": [1, 2, 3], "nested": {"ok": True}}
    masked = client.get(f"/block_types/slug/secret/block_documents/name/json-{suffix}").json()
    assert masked["data"] == {"value": "********"}
    assert saved["webhook"] == {"url": "https://hooks.example.com/x", "headers": {"Authorization": "Bearer hook-token"}}
    hook = client.get(f"/block_types/slug/webhook/block_documents/name/hook-{suffix}").json()
    assert hook["data"]["url"] == "********" and hook["data"]["headers"] == {"Authorization": "********"}


def test_custom_block_with_nested_block_reference(saved: dict[str, Any], client: httpx.Client, suffix: str) -> None:
    assert saved["outer"] == {"label": "referenced", "host": "db.internal", "token": "t0ken-inner"}
    assert saved["outer_inline"] == {"label": "inline", "host": "h2", "token": "t0ken-inline"}
    outer = client.get(f"/block_types/slug/{saved['slugs']['outer']}/block_documents/name/outer-{suffix}").json()
    reference = outer["block_document_references"]["creds"]["block_document"]
    assert reference["name"] == f"inner-{suffix}" and not reference["is_anonymous"]
    assert outer["data"]["creds"] == {"host": "db.internal", "token": "********"}
    inline = client.get(
        f"/block_types/slug/{saved['slugs']['outer']}/block_documents/name/outer-inline-{suffix}"
    ).json()
    # An unsaved nested block is kept inline; the parent schema's secret_fields ("creds.token") mask it.
    assert inline["block_document_references"] == {}
    assert inline["data"]["creds"] == {"host": "h2", "token": "********", "block_type_slug": saved["slugs"]["inner"]}
    # The server's checksum rule agrees with the client's: each schema is found by the client's checksum.
    for checksum in saved["checksums"].values():
        assert client.get(f"/block_schemas/checksum/{checksum}").status_code == 200, checksum


def test_cli_register_ls_inspect_delete(api_url: str, saved: dict[str, Any], client: httpx.Client, suffix: str) -> None:
    registered = _cli(api_url, "block", "register", "-m", "prefect.blocks.notifications")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    assert "Successfully registered" in registered.stdout
    assert client.get("/block_types/slug/slack-webhook").status_code == 200
    listed = _cli(api_url, "block", "ls")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"secret-{suffix}" in listed.stdout and f"outer-{suffix}" in listed.stdout
    inspected = _cli(api_url, "block", "inspect", f"secret/secret-{suffix}")
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert f"secret-{suffix}" in inspected.stdout and "rotated-value" not in inspected.stdout
    types = _cli(api_url, "block", "type", "ls")
    assert types.returncode == 0 and "secret" in types.stdout
    inspected_type = _cli(api_url, "block", "type", "inspect", "secret")
    assert inspected_type.returncode == 0 and "secret" in inspected_type.stdout, (
        inspected_type.stdout + inspected_type.stderr
    )
    protected = _cli(api_url, "block", "type", "delete", "secret")
    assert protected.returncode != 0 and client.get("/block_types/slug/secret").status_code == 200
    deleted = _cli(api_url, "block", "delete", f"secret/secret-{suffix}")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    assert client.get(f"/block_types/slug/secret/block_documents/name/secret-{suffix}").status_code == 404
    missing = _cli(api_url, "block", "inspect", f"secret/secret-{suffix}")
    assert missing.returncode != 0
