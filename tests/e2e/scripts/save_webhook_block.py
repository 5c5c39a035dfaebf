"""Save a Webhook block with the real prefect client: `save_webhook_block.py NAME URL`; prints its id."""

from __future__ import annotations

import json
import sys

from prefect.blocks.webhook import Webhook

if __name__ == "__main__":
    block_id = Webhook(url=sys.argv[2], method="POST").save(sys.argv[1])
    print(json.dumps({"block_document_id": str(block_id)}), flush=True)
