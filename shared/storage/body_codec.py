"""Compact item bodies: the JSON body of every item is stored deflate-compressed.

DynamoDB bills a write per 1 KB of the item and per 1 KB of each ALL-projected index copy, and a
read per 4 KB: a task run, its state and its event are 0.6-2.5 KB of JSON that repeats the same
key names and enum values in every item. Deflate with a preset dictionary of those (prefect's
JSON shapes) stores them in 100-400 bytes, so most items and index copies cost 1 WRU.

Stored format (a Binary attribute), first byte = format:
- 0x00: the UTF-8 text as is (small bodies, e.g. guards `{"id": ...}`: compression would not pay);
- 0x01: raw deflate of the UTF-8 text with DICTIONARY_V1.
The dictionary is part of the stored format: never edit it; a better one is a new format byte.
Items written before this format hold a String body; they still read back (see `CompactBody`).
"""

from __future__ import annotations

import zlib

RAW = 0x00
DEFLATE_V1 = 0x01
# Below this many bytes a body is stored as is.
MIN_COMPRESSED = 160

DICTIONARY_V1 = (
    b'{"id":"00000000-0000-0000-0000-000000000000","created":null,"updated":null,"name":"prefect.flow_runs'
    b'","level":20,"message":"Finished in state Completed()","timestamp":"2025-01-01T00:00:00.000000Z","fl'
    b'ow_run_id":"00000000-0000-0000-0000-000000000000","task_run_id":null}"prefect.resource.role":"flow",'
    b'"prefect.resource.role":"tag","prefect.resource.id":"prefect.tag.","prefect.resource.id":"prefect.fl'
    b'ow.","prefect.resource.role":"deployment","prefect.resource.id":"prefect.deployment.","prefect.resou'
    b'rce.role":"work-queue","prefect.resource.id":"prefect.work-queue.","prefect.resource.role":"work-poo'
    b'l","prefect.resource.id":"prefect.work-pool.","prefect.work-pool.type":"process","prefect.resource.i'
    b'd":"prefect.task-run."prefect.flow.id":"","prefect.flow-run.id":"","prefect.deployment.id":"","prefe'
    b'ct.worker.name":"","prefect.work-pool.name":""parameters":{},"idempotency_key":null,"context":{},"em'
    b'pirical_policy":{"max_retries":0,"retry_delay_sec":0,"retries":null,"retry_delay":null,"pause_keys":'
    b'[],"resuming":false,"retry_type":null},"tags":[],"labels":{},"parent_task_run_id":null,"run_count":0'
    b',"expected_start_time":"","next_scheduled_start_time":null,"start_time":null,"end_time":null,"total_'
    b'run_time":0.0,"auto_scheduled":false,"infrastructure_document_id":null,"infrastructure_pid":null,"cr'
    b'eated_by":null,"work_queue_id":null,"work_pool_id":null,"work_queue_name":null,"work_pool_name":null'
    b',"job_variables":{},"deployment_id":null,"deployment_version":null,"flow_version":null,"state_id":""'
    b',"state_type":"COMPLETED","state_name":"Completed","type":"COMPLETED","name":"Completed","type":"PEN'
    b'DING","name":"Pending","type":"SCHEDULED","name":"Scheduled","type":"FAILED","name":"Failed","type":'
    b'"CANCELLED","name":"Cancelled","type":"CRASHED","name":"Crashed","prefect.flow-run.Completed","prefe'
    b'ct.flow-run.Running","prefect.flow-run.Pending","prefect.task-run.Completed","prefect.task-run.Pendi'
    b'ng","data":{"type":"unpersisted"},"storage_key":"","serializer":{"type":"pickle"},"prefect_version":'
    b'"3.9.1",\n{"occurred":"2025-01-01T00:00:00.000000Z","event":"prefect.task-run.Running","resource":{"p'
    b'refect.resource.id":"prefect.task-run.00000000-0000-0000-0000-000000000000","prefect.resource.name":'
    b'"my_task-0","prefect.run-count":"1","prefect.state-message":"","prefect.state-name":"Running","prefe'
    b'ct.state-timestamp":"2025-01-01T00:00:00.000000+00:00","prefect.state-type":"RUNNING","prefect.orche'
    b'stration":"client"},"related":[{"prefect.resource.id":"prefect.flow-run.00000000-0000-0000-0000-0000'
    b'00000000","prefect.resource.role":"flow-run","prefect.resource.name":"some-flow-run"}],"payload":{"i'
    b'ntended":{"from":null,"to":"RUNNING"},"initial_state":null,"validated_state":{"type":"RUNNING","name'
    b'":"Running","message":"","state_details":{},"data":null},"task_run":{"name":"my_task-0","task_key":"'
    b'my_task-1a2b3c","dynamic_key":"0","empirical_policy":{"max_retries":0,"retry_delay_seconds":0.0,"ret'
    b'ries":0,"retry_delay":0},"tags":["t1"],"labels":{},"task_inputs":{},"run_count":1,"flow_run_run_coun'
    b't":1,"expected_start_time":"2025-01-01T00:00:00.000000+00:00","total_run_time":0.0}},"id":"00000000-'
    b'0000-0000-0000-000000000000","follows":null,"received":"2025-01-01T00:00:00.000000Z"}\n{"id":"0000000'
    b'0-0000-0000-0000-000000000000","type":"RUNNING","name":"Running","timestamp":"2025-01-01T00:00:00.00'
    b'0000Z","message":null,"data":null,"state_details":{"flow_run_id":null,"task_run_id":null,"child_flow'
    b'_run_id":null,"scheduled_time":null,"cache_key":null,"cache_expiration":null,"deferred":false,"untra'
    b'ckable_result":false,"pause_timeout":null,"pause_reschedule":false,"pause_key":null,"run_input_keyse'
    b't":null,"refresh_cache":null,"retriable":null,"transition_id":null,"task_parameters_id":null,"tracep'
    b'arent":null,"deployment_concurrency_lease_id":null}}\n{"id":"00000000-0000-0000-0000-000000000000","c'
    b'reated":"2025-01-01T00:00:00.000000Z","updated":"2025-01-01T00:00:00.000000Z","name":"my_task-0","fl'
    b'ow_run_id":"00000000-0000-0000-0000-000000000000","task_key":"my_task-1a2b3c","dynamic_key":"0","cac'
    b'he_key":null,"cache_expiration":null,"task_version":null,"empirical_policy":{"max_retries":0,"retry_'
    b'delay_seconds":0.0,"retries":null,"retry_delay":null,"retry_jitter_factor":null},"tags":[],"labels":'
    b'{},"state_id":"00000000-0000-0000-0000-000000000000","task_inputs":{},"state_type":"RUNNING","state_'
    b'name":"Running","run_count":0,"flow_run_run_count":0,"expected_start_time":null,"next_scheduled_star'
    b't_time":null,"start_time":null,"end_time":null,"total_run_time":0.0,"estimated_run_time":0.0,"estima'
    b'ted_start_time_delta":0.0,"state":{"id":"00000000-0000-0000-0000-000000000000","type":"RUNNING","nam'
    b'e":"Running","timestamp":"2025-01-01T00:00:00.000000Z","message":null,"data":null,"state_details":{"'
    b'flow_run_id":null,"task_run_id":null,"child_flow_run_id":null,"scheduled_time":null,"cache_key":null'
    b',"cache_expiration":null,"deferred":false,"untrackable_result":false,"pause_timeout":null,"pause_res'
    b'chedule":false,"pause_key":null,"run_input_keyset":null,"refresh_cache":null,"retriable":null,"trans'
    b'ition_id":null,"task_parameters_id":null,"traceparent":null,"deployment_concurrency_lease_id":null}}'
    b'}\n{"id":"00000000-0000-0000-0000-000000000000","created":"2025-01-01T00:00:00.000000Z","updated":"20'
    b'25-01-01T00:00:00.000000Z","name":"silly-fox","flow_id":"00000000-0000-0000-0000-000000000000","stat'
    b'e_id":null,"deployment_id":null,"deployment_version":null,"work_queue_id":null,"work_queue_name":nul'
    b'l,"flow_version":null,"parameters":{},"idempotency_key":null,"context":{},"empirical_policy":{"max_r'
    b'etries":0,"retry_delay_seconds":0.0,"retries":null,"retry_delay":null,"pause_keys":[],"resuming":fal'
    b'se,"retry_type":null},"tags":[],"labels":{},"parent_task_run_id":null,"state_type":null,"state_name"'
    b':null,"run_count":0,"expected_start_time":null,"next_scheduled_start_time":null,"start_time":null,"e'
    b'nd_time":null,"total_run_time":0.0,"estimated_run_time":0.0,"estimated_start_time_delta":0.0,"auto_s'
    b'cheduled":false,"infrastructure_document_id":null,"infrastructure_pid":null,"created_by":null,"work_'
    b'pool_id":null,"work_pool_name":null,"state":{"id":"00000000-0000-0000-0000-000000000000","type":"RUN'
    b'NING","name":"Running","timestamp":"2025-01-01T00:00:00.000000Z","message":null,"data":null,"state_d'
    b'etails":{"flow_run_id":null,"task_run_id":null,"child_flow_run_id":null,"scheduled_time":null,"cache'
    b'_key":null,"cache_expiration":null,"deferred":false,"untrackable_result":false,"pause_timeout":null,'
    b'"pause_reschedule":false,"pause_key":null,"run_input_keyset":null,"refresh_cache":null,"retriable":n'
    b'ull,"transition_id":null,"task_parameters_id":null,"traceparent":null,"deployment_concurrency_lease_'
    b'id":null}},"job_variables":null}'
)


class StoredText(str):
    """A body as read from the table, remembering the exact stored bytes: a condition
    `body == <this value>` then compares with what is stored, whatever zlib version wrote it."""

    stored: bytes


def pack(text: str) -> bytes:
    """The stored bytes of a body."""
    if isinstance(text, StoredText):
        return text.stored
    raw = text.encode("utf-8")
    if len(raw) < MIN_COMPRESSED:
        return bytes([RAW]) + raw
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY_V1)
    packed = compressor.compress(raw) + compressor.flush()
    if len(packed) >= len(raw):
        return bytes([RAW]) + raw
    return bytes([DEFLATE_V1]) + packed


def unpack(stored: bytes) -> StoredText:
    """The body text of stored bytes (ValueError for an unknown format)."""
    if not stored:
        raise ValueError("empty stored body")
    kind, payload = stored[0], stored[1:]
    if kind == RAW:
        raw = payload
    elif kind == DEFLATE_V1:
        decompressor = zlib.decompressobj(-15, zdict=DICTIONARY_V1)
        raw = decompressor.decompress(payload) + decompressor.flush()
    else:
        raise ValueError(f"unknown stored body format {kind}")
    text = StoredText(raw.decode("utf-8"))
    text.stored = bytes(stored)
    return text
