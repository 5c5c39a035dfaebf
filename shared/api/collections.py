"""/collections routes: the collection registry's views, served from bundled copies.

The reference fetches views from GitHub and falls back to a copy in its package; a Lambda
should not depend on GitHub, so we serve the bundled copy only. `prefect work-pool create
--type T` reads `aggregate-worker-metadata` for T's default base job template.
The JSON under collections_data/ is data copied from prefect 3.9.1's package.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from shared.api.routing import ServerflowRouter
from shared.storage.errors import ObjectNotFound

router = ServerflowRouter(prefix="/collections", tags=["Collections"])

DATA_DIR = Path(__file__).resolve().parent / "collections_data"
KNOWN_VIEWS = ("aggregate-block-metadata", "aggregate-flow-metadata", "aggregate-worker-metadata", "demo-flows")


@lru_cache(maxsize=len(KNOWN_VIEWS))
def _load_view(view: str) -> dict[str, Any] | None:
    path = DATA_DIR / f"{view}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@router.get("/views/{view}")
def read_view_content(view: str) -> dict[str, Any]:
    """Reads the content of a view from the prefect-collection-registry."""
    if view not in KNOWN_VIEWS:
        raise ObjectNotFound(f"View {view} not found in registry")
    data = _load_view(view)
    if data is None:
        raise ObjectNotFound(f"Requested content missing for view {view}")
    return data
