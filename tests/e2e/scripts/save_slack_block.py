"""Save a SlackWebhook notification block with the real prefect client: `save_slack_block.py NAME URL`; prints its id."""

from __future__ import annotations

import json
import sys

from prefect.blocks.notifications import SlackWebhook

if __name__ == "__main__":
    block_id = SlackWebhook(url=sys.argv[2]).save(sys.argv[1])
    print(json.dumps({"block_document_id": str(block_id)}), flush=True)
