"""Lambda worker: a work pool's SQS queue feeds it through an event source mapping with
ReportBatchItemFailures (see README "Lambda worker"); each record is claimed, executed and reported by
the same code as `serverflow worker` (serverflow.worker.lambda_worker)."""

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from serverflow.worker.lambda_worker import record_handler

from shared.config import get_settings

# The worker calls the API as a client: give the SDK (and flow subprocesses) the stack's key, read at init.
if get_settings().api_key:
    os.environ.setdefault("SERVERFLOW_API_KEY", get_settings().api_key or "")

processor = BatchProcessor(event_type=EventType.SQS)
logger = Logger(service="serverflow-worker")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
