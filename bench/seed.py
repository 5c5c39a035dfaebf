"""Bulk seeding of flow runs (unmeasured), each server through its own storage code path.

Seeding only fills the store before the measured operations; the measured operations always go through HTTP.
Through the API, seeding 4,000 runs takes about 40 s on Serverflow and several minutes on the SQLite
reference (it answers concurrent creates with 503), so each side offers a bulk path that builds each run
with the same code its `POST /flow_runs/` route runs, minus HTTP:

- Serverflow (`sf_seed`, called inside the server process by `bench.sf_server`'s `POST /seed`):
  `shared.storage.run_lifecycle.create_flow_run` itself, with the TransactWriteItems it would issue collected instead
  of sent, then written with BatchWriteItem (25 items a call). The run item and its state item are the
  ones the route writes; only the per-run transaction (whose conditions a fresh uuid7 key always passes)
  becomes a batch.
- Reference (`python -m bench.seed ref`, a subprocess with the reference's environment, so its SQLite
  database, while the server idles): `prefect.server.models.flow_runs.create_flow_run` as the route
  calls it, 250 runs per transaction.

Both take the JSON bodies `POST /flow_runs/` would get and return the created run ids.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
import subprocess
import sys
from typing import Any

_COLLECT: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar("bench_seed_collect", default=None)
_PATCHED = False


def _collecting(write: Any) -> Any:
    """`write` (a batch writer), but inside sf_seed the batch's puts are collected instead."""

    def wrapper(batch: Any, **options: Any) -> None:
        sink = _COLLECT.get()
        if sink is None or batch.deletes or batch.checks:  # outside sf_seed, or not a plain create
            write(batch, **options)
            return
        sink.extend(item for item, _ in batch.puts)

    return wrapper


def _patch_transact() -> None:
    """Wrap store.transact and store.put_then_batch once: inside sf_seed (contextvar set) collect the
    batch, else pass through."""
    global _PATCHED
    if _PATCHED:
        return
    from shared.storage import store

    store.transact = _collecting(store.transact)
    store.put_then_batch = _collecting(store.put_then_batch)
    _PATCHED = True


def sf_seed(bodies: list[dict[str, Any]], chunk: int = 250, threads: int = 4) -> list[str]:
    """Create runs with run_lifecycle.create_flow_run (as the route does), written in BatchWriteItem calls; a few threads,
    so the server's Python work overlaps the emulator's (as the API's concurrent requests would)."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.schemas.flow_runs import FlowRunCreate
    from shared.storage import run_lifecycle, store

    _patch_transact()

    def one_chunk(part: list[dict[str, Any]]) -> list[str]:
        items: list[Any] = []
        token = _COLLECT.set(items)
        try:
            ids = [str(run_lifecycle.create_flow_run(FlowRunCreate.model_validate(b))[0].id) for b in part]
        finally:
            _COLLECT.reset(token)
        store.batch_put(items)
        return ids

    parent = contextvars.copy_context()  # the caller's context (e.g. the bench's route attribution)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bench-seed") as pool:
        futures = [
            pool.submit(parent.copy().run, one_chunk, bodies[k : k + chunk]) for k in range(0, len(bodies), chunk)
        ]
        return [i for f in futures for i in f.result()]


# --- reference ---------------------------------------------------------------------------------------------


REF_CHUNK_ATTEMPTS = 8


async def _ref_seed(bodies: list[dict[str, Any]], chunk: int = 250) -> list[str]:
    from prefect.server import models, schemas
    from prefect.server.database import provide_database_interface

    db = provide_database_interface()
    ids: list[str] = []
    for k in range(0, len(bodies), chunk):
        # The server's own background services write to the same SQLite file: a chunk that meets
        # "database is locked" rolled back whole, so it is simply tried again (bounded).
        for attempt in range(REF_CHUNK_ATTEMPTS):
            chunk_ids: list[str] = []
            try:
                async with db.session_context(begin_transaction=True) as session:
                    for body in bodies[k : k + chunk]:
                        create = schemas.actions.FlowRunCreate.model_validate(body)
                        run = schemas.core.FlowRun(**create.model_dump())
                        if not run.state:
                            run.state = schemas.states.Pending()
                        model = await models.flow_runs.create_flow_run(
                            session=session, flow_run=run, orchestration_parameters={}
                        )
                        chunk_ids.append(str(model.id))
            except Exception as exc:
                if "database is locked" not in str(exc) or attempt == REF_CHUNK_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            ids.extend(chunk_ids)
            break
    return ids


def ref_seed(env: dict[str, str], bodies: list[dict[str, Any]], timeout_s: float) -> list[str]:
    """Run the reference seeder in a subprocess with the reference server's environment."""
    p = subprocess.run(
        [sys.executable, "-m", "bench.seed", "ref"],
        input=json.dumps(bodies),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if p.returncode != 0:
        # The exception's own lines first: its SQL and parameters come after and would fill any tail.
        errors = [ln for ln in p.stderr.splitlines() if re.match(r"^[\w.]+(Error|Exception)\b", ln)]
        raise RuntimeError(
            f"reference seeder failed ({p.returncode}): {' | '.join(errors)[:600]} ... {p.stderr[-500:]}"
        )
    ids: list[str] = json.loads(p.stdout.strip().splitlines()[-1])
    return ids


if __name__ == "__main__" and sys.argv[1:] == ["ref"]:
    print(json.dumps(asyncio.run(_ref_seed(json.loads(sys.stdin.read())))))
