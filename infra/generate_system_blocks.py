"""Regenerate shared/storage/blocks_data/system_blocks.json from the reference server.

The block types and schemas a fresh Prefect 3.9.1 server holds (its protected system
blocks, the client's block registry and its bundled collection blocks) are data, read
over HTTP from a running reference server, never copied code. Run it from the test
environment (prefect is a test-only dependency) when the reference version changes:

    PREFECT_HOME=$(mktemp -d) PREFECT_SERVER_ANALYTICS_ENABLED=false PREFECT_UI_ENABLED=false \
        .venv/bin/prefect server start --port 14299 &
    .venv/bin/python -m infra.generate_system_blocks http://127.0.0.1:14299/api

The reference's checksums are kept as they are (they are the schemas' identity). Schemas of
the client's own block classes are also re-hashed with our `schema_checksum`, which must agree,
so a drift in the checksum rule fails here, not in a user's `Block.load()`. (Collection blocks
come with checksums precomputed by their packages over fields the reference reshapes on read,
so those are not comparable and are only counted.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

from shared.blocks.checksum import schema_checksum

OUT = Path(__file__).resolve().parent.parent / "shared" / "storage" / "blocks_data" / "system_blocks.json"
# Blocks defined in prefect itself (the client computes their checksums from the same fields).
CLIENT_BLOCK_SLUGS = {
    "secret",
    "webhook",
    "local-file-system",
    "remote-file-system",
    "smb",
    "custom-webhook",
    "discord-webhook",
    "mattermost-webhook",
    "ms-teams-webhook",
    "opsgenie-webhook",
    "pager-duty-webhook",
    "sendgrid-email",
    "slack-webhook",
    "twilio-sms",
}
TYPE_FIELDS = ("name", "slug", "logo_url", "documentation_url", "description", "code_example", "is_protected")


def _all(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        page = client.post(path, json={"offset": len(found), "limit": 200}).raise_for_status().json()
        found.extend(page)
        if len(page) < 200:
            return found


def generate(api_url: str) -> dict[str, Any]:
    with httpx.Client(base_url=api_url, timeout=60) as client:
        version = client.get("/admin/version").raise_for_status().json()
        block_types = _all(client, "/block_types/filter")
        block_schemas = _all(client, "/block_schemas/filter")
    slugs = {block_type["id"]: block_type["slug"] for block_type in block_types}
    types_out = []
    uncomparable: list[str] = []
    # Registration order = the reference's (its schema listing is newest first), so listings
    # of a fresh stack come out in the same order.
    oldest_first = list(reversed(block_schemas))
    first_schema = {
        t["id"]: next((i for i, s in enumerate(oldest_first) if s["block_type_id"] == t["id"]), len(oldest_first))
        for t in block_types
    }
    for block_type in sorted(block_types, key=lambda t: (first_schema[t["id"]], t["slug"])):
        schemas = [s for s in oldest_first if s["block_type_id"] == block_type["id"]]
        schemas_out = []
        for schema in schemas:
            if schema_checksum(schema["fields"]) != schema["checksum"]:
                if block_type["slug"] in CLIENT_BLOCK_SLUGS:
                    raise SystemExit(f"checksum rule differs from the reference for {block_type['slug']}")
                uncomparable.append(block_type["slug"])
            schemas_out.append({k: schema[k] for k in ("checksum", "version", "capabilities", "fields")})
        types_out.append({**{k: block_type[k] for k in TYPE_FIELDS}, "block_schemas": schemas_out})
    assert all(s["block_type_id"] in slugs for s in block_schemas)
    print(f"collection schemas with precomputed checksums: {len(uncomparable)}")
    return {"reference_version": version, "block_types": types_out}


def main(argv: list[str]) -> int:
    api_url = argv[0] if argv else "http://127.0.0.1:14299/api"
    data = generate(api_url)
    OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(
        f"{len(data['block_types'])} block types, {sum(len(t['block_schemas']) for t in data['block_types'])} schemas -> {OUT}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
