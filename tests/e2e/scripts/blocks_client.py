"""Blocks through the real prefect client: Secret (text and JSON values), Webhook, a custom block with a nested block.

prefect 3.9.1 has no JSON / String / DateTime block classes any more; a JSON value is a Secret[dict].

Prints one JSON line with what the client saw; the test checks the server side over HTTP.
"""

from __future__ import annotations

import json
import sys

from prefect import flow, task
from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from prefect.blocks.webhook import Webhook
from pydantic import SecretStr

suffix = sys.argv[1]


class SfInnerCreds(Block):
    """Credentials nested inside another block."""

    host: str
    token: SecretStr


class SfOuterService(Block):
    """A block holding another block."""

    label: str
    creds: SfInnerCreds


@task
def read_secret(name: str) -> str:
    return str(Secret.load(name).get())


@flow
def uses_secret(name: str) -> str:
    return read_secret(name)


out: dict = {}

Secret(value="s3cr3t-value").save(f"secret-{suffix}")
out["secret"] = Secret.load(f"secret-{suffix}").get()
try:
    Secret(value="other").save(f"secret-{suffix}")
    out["save_twice"] = "saved"
except ValueError as exc:
    out["save_twice"] = "refused" if "already in use" in str(exc) else str(exc)
Secret(value="rotated-value").save(f"secret-{suffix}", overwrite=True)
out["secret_rotated"] = Secret.load(f"secret-{suffix}").get()
out["flow_secret"] = uses_secret(f"secret-{suffix}")

Secret(value={"rows": [1, 2, 3], "nested": {"ok": True}}).save(f"json-{suffix}")
out["json"] = Secret.load(f"json-{suffix}").get()

Webhook(method="POST", url="https://hooks.example.com/x", headers={"Authorization": "Bearer hook-token"}).save(
    f"hook-{suffix}"
)
hook = Webhook.load(f"hook-{suffix}")
out["webhook"] = {"url": hook.url.get_secret_value(), "headers": hook.headers.get_secret_value()}

SfInnerCreds(host="db.internal", token="t0ken-inner").save(f"inner-{suffix}")
inner = SfInnerCreds.load(f"inner-{suffix}")
SfOuterService(label="referenced", creds=inner).save(f"outer-{suffix}")
outer = SfOuterService.load(f"outer-{suffix}")
out["outer"] = {"label": outer.label, "host": outer.creds.host, "token": outer.creds.token.get_secret_value()}

SfOuterService(label="inline", creds=SfInnerCreds(host="h2", token="t0ken-inline")).save(f"outer-inline-{suffix}")
inline = SfOuterService.load(f"outer-inline-{suffix}")
out["outer_inline"] = {"label": inline.label, "host": inline.creds.host, "token": inline.creds.token.get_secret_value()}

out["checksums"] = {
    "outer": SfOuterService._calculate_schema_checksum(),
    "inner": SfInnerCreds._calculate_schema_checksum(),
    "secret": Secret._calculate_schema_checksum(),
}
out["slugs"] = {"outer": SfOuterService.get_block_type_slug(), "inner": SfInnerCreds.get_block_type_slug()}
print(json.dumps(out))
