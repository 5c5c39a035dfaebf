"""Dependencies shared by the block route groups."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from shared.storage.block_registration import ensure_registered


def _system_blocks_registered() -> None:
    ensure_registered()


# Every block route depends on this: before a process's first block request the bundled system
# block types are in the table (one marker GetItem per process, see storage/block_registration.py).
SystemBlocksRegistered: Any = Depends(_system_blocks_registered)
