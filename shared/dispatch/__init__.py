"""Dispatch of due flow runs to their work pool's SQS queue (messages: pure; sqs: boto3)."""

from shared.dispatch.sqs import create_pool_queue, delete_pool_queue, enqueue_flow_run, enqueue_for_run

__all__ = ["create_pool_queue", "delete_pool_queue", "enqueue_flow_run", "enqueue_for_run"]
