"""Lambda for Prefect's block routes: block_types, block_schemas, block_documents, block_capabilities."""

from shared.api.lambda_handler import build_lambda_handler

handler = build_lambda_handler("blocks")
