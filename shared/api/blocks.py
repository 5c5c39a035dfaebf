"""The `blocks` domain: one Lambda serving /block_types, /block_schemas, /block_documents and
/block_capabilities.

One function rather than four: the groups share one aggregate (a document read resolves its
schema, type and referenced documents; type routes list documents), so one warm container
serves a client's `Block.save()` / `Block.load()` sequence, and the system block types are
checked once per container (a single marker GetItem) instead of once per function.
"""

from __future__ import annotations

from shared.api import block_capabilities, block_documents, block_schemas, block_types
from shared.api.routing import ServerflowRouter

router = ServerflowRouter()
# Adopt the groups' routes as plain routes (as deployments.py does), so the route-consistency
# test and the app see every path with its prefix.
router.routes.extend(
    [
        *block_types.router.routes,
        *block_schemas.router.routes,
        *block_documents.router.routes,
        *block_capabilities.router.routes,
    ]
)
