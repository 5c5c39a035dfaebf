"""The cost model prices CloudWatch Logs as template.yaml deploys the functions, and storage from what a run
leaves in the table (issue #13).

Lambda sends its platform records (START, REPORT) and the functions' own records below the configured
levels nowhere, so they cost nothing; what is sent is priced per byte ingested.
"""

from __future__ import annotations

import logging
import math
from types import SimpleNamespace
from typing import Any

from bench import cost
from bench.ddb_meter import METER, ROUTE, Meter, item_size
from bench.sf_server import LogMeter
from infra.template import load_template


def test_functions_log_at_warn_in_json_by_default() -> None:
    template = load_template()
    logging_config = template["Globals"]["Function"]["LoggingConfig"]
    # Log-level filtering exists only with the JSON format.
    assert logging_config["LogFormat"] == "JSON"
    assert logging_config["ApplicationLogLevel"] == {"Ref": "ApplicationLogLevel"}
    assert logging_config["SystemLogLevel"] == {"Ref": "SystemLogLevel"}
    assert template["Parameters"]["SystemLogLevel"]["Default"] == "WARN"
    assert template["Parameters"]["ApplicationLogLevel"]["Default"] == "WARN"
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_LOG_LEVEL"] == {"Ref": "ApplicationLogLevel"}


def test_logs_are_priced_from_what_is_sent() -> None:
    prices = cost.load_prices()
    assert cost.platform_log_bytes(prices) == 0.0  # SystemLogLevel WARN: no START/REPORT records
    quiet = {"POST /api/flow_runs/": {"requests": 1000, "server_s": 5.0}}
    noisy = {"POST /api/flow_runs/": {"requests": 1000, "server_s": 5.0, "log_bytes": 2_000_000_000}}
    assert cost.cost_of(quiet, prices)["cloudwatch_logs"] == 0.0
    per_gb = prices["also"]["cloudwatch_logs_ingest_per_gb"]
    assert abs(cost.cost_of(noisy, prices)["cloudwatch_logs"] - 2 * per_gb) < 1e-9


def test_log_meter_counts_records_at_or_above_the_level_per_route() -> None:
    meter = LogMeter(logging.WARNING, envelope_bytes=300)
    route = "GET /api/test-log-meter"
    token = ROUTE.set(route)
    try:
        before = METER.snapshot().get(route, {}).get("log_bytes", 0)
        log = logging.getLogger("serverflow.test")
        for level, msg in ((logging.INFO, "dropped"), (logging.WARNING, "kept")):
            record = log.makeRecord(log.name, level, __file__, 1, msg, (), None)
            if record.levelno >= meter.level:
                meter.handle(record)
        local = logging.getLogger("uvicorn.error").makeRecord("uvicorn.error", logging.ERROR, "", 1, "x", (), None)
        meter.handle(local)  # the local server's own records never reach CloudWatch
    finally:
        ROUTE.reset(token)
    assert METER.snapshot()[route]["log_bytes"] - before == len("kept") + 300


def _call(meter: Any, op: str, params: dict[str, Any]) -> None:
    """One DynamoDB call as botocore's hooks report it to the meter."""
    model, context = SimpleNamespace(name=op), {}
    meter.before_call(params, model, context)
    meter.after_call({}, model, context)


def test_storage_is_metered_as_net_bytes_left_in_the_table() -> None:
    """Storage is priced from what a run leaves in the table: each item with its index copies and DynamoDB's
    100 bytes of overhead per item, split into what is kept and what expires (TTL)."""
    from bench.ddb_meter import Meter, item_size

    meter = Meter()
    meter.gsis["t"] = [("GSI1PK", "GSI1SK", "ALL"), ("GSI2PK", "GSI2SK", "KEYS_ONLY")]
    route = "POST /api/test-storage"
    token = ROUTE.set(route)
    try:
        run = {"PK": {"S": "RUN#1"}, "SK": {"S": "#META"}, "GSI1PK": {"S": "RUNS"}, "body": {"S": "x" * 500}}
        _call(meter, "PutItem", {"TableName": "t", "Item": run})
        kept = meter.snapshot()[route]["stored_kept"]
        assert kept == 2 * item_size(run) + 200  # in one ALL index: the item twice, the overhead twice
        _call(meter, "PutItem", {"TableName": "t", "Item": run})  # an overwrite adds nothing
        assert meter.snapshot()[route]["stored_kept"] == kept
        event = {"PK": {"S": "EVENT#1"}, "SK": {"S": "#META"}, "expires_at": {"N": "1"}, "GSI2PK": {"S": "E"}}
        _call(meter, "PutItem", {"TableName": "t", "Item": event})
        # A keys-only copy costs its keys, not the item.
        assert meter.snapshot()[route]["stored_expiring"] == item_size(event) + 64 + 200
        _call(meter, "DeleteItem", {"TableName": "t", "Key": {"PK": {"S": "RUN#1"}, "SK": {"S": "#META"}}})
        assert meter.snapshot()[route]["stored_kept"] == 0
    finally:
        ROUTE.reset(token)
    prices = cost.load_prices()
    floor = {"task_run": {"stored_kept": 1000.0, "stored_expiring": 3000.0}}
    storage = cost.storage_cost(floor, prices)["per_million_task_runs"]
    assert storage["kept_usd_per_month"] == round(1000 * 1e6 / 1e9 * 0.25, 4)
    assert storage["expiring_usd_once"] > 0


def test_a_count_query_is_charged_for_the_entries_it_read() -> None:
    """A COUNT Query returns no item, yet DynamoDB bills the entries it read: sized as what a Query of the
    same partition last returned."""
    meter = Meter()
    query = {
        "TableName": "t",
        "IndexName": "GSI7",
        "KeyConditionExpression": "#0 = :0",
        "ExpressionAttributeValues": {":0": {"S": "P#1"}},
    }
    entry = {"PK": {"S": "RUN#1"}, "SK": {"S": "#INDEX"}, "GSI7PK": {"S": "P#1"}, "pad": {"S": "x" * 1000}}
    listed = meter._units("Query", query, {"Items": [entry] * 4, "Count": 4, "ScannedCount": 4})
    counted = meter._units("Query", {**query, "Select": "COUNT"}, {"Count": 4, "ScannedCount": 4})
    assert counted == listed == (math.ceil(4 * item_size(entry) / 4096) * 0.5, 0.0, 4, 4)


def test_a_batch_get_is_charged_per_key_asked_found_or_not() -> None:
    """BatchGetItem reads each key as its own GetItem: a key with no item costs the minimum unit too, and
    ConsistentRead costs a whole unit per 4 KB."""
    meter = Meter()
    keys = [{"PK": {"S": f"K#{n}"}, "SK": {"S": "#META"}} for n in range(3)]
    found = {**keys[0], "pad": {"S": "x" * 5000}}  # two 4 KB units
    out = {"Responses": {"t": [found]}, "UnprocessedKeys": {"t": {"Keys": [keys[2]]}}}
    consistent = meter._units("BatchGetItem", {"RequestItems": {"t": {"Keys": keys, "ConsistentRead": True}}}, out)
    eventual = meter._units("BatchGetItem", {"RequestItems": {"t": {"Keys": keys}}}, out)
    assert consistent == (2.0 + 1.0, 0.0, 0, 0)  # the found item, the missing key; not the unprocessed one
    assert eventual == (1.5, 0.0, 0, 0)


def test_index_anchors_are_flow_run_anchors_and_the_guards_listing_a_flow_runs_task_runs() -> None:
    """Entries a listing reads in place of runs, each followed by a read of its run, are counted apart from the
    items read: flow runs' #INDEX anchors and task-run guards in their flow run's partition, not the runs."""
    from bench.ddb_meter import _is_anchor
    from shared.storage.flow_run_index import INDEX_SK

    assert _is_anchor({"PK": {"S": "FLOW_RUN#1"}, "SK": {"S": INDEX_SK}})
    assert _is_anchor({"PK": {"S": "TASK_RUN_KEYS#1"}, "SK": {"S": "0f" * 16}, "entity": {"S": "task_run_key"}})
    # A keyed run in the same partition is a run the listing returns, not an entry it follows.
    assert not _is_anchor({"PK": {"S": "TASK_RUN_KEYS#1"}, "SK": {"S": "0f" * 16}, "entity": {"S": "task_run"}})
    assert not _is_anchor({"PK": {"S": "TASK_RUN#1"}, "SK": {"S": "#META"}})
    assert not _is_anchor({"PK": {"S": "TASK_RUN_KEY#" + "0f" * 32}, "SK": {"S": "#META"}})  # a legacy guard


def test_edge_cached_routes_cost_a_cloudfront_request_only() -> None:
    prices = cost.load_prices()
    assert cost.edge_cached_paths() == ["/api/admin/version"]
    cached = cost.cost_of({"GET /api/admin/version": {"requests": 1_000_000, "server_s": 2000.0}}, prices)
    assert cached["total"] == cached["cloudfront"] == prices["cloudfront"]["per_million_https_requests"]
    # Anything else under /api goes through API Gateway and a Lambda as well.
    other = cost.cost_of({"GET /api/admin/settings": {"requests": 1_000_000, "server_s": 2000.0}}, prices)
    assert other["api_gateway_http"] > 0 and other["lambda_requests"] > 0 and other["lambda_compute"] > 0


def test_edge_answered_routes_cost_a_cloudfront_request_and_a_function_invocation_only() -> None:
    prices = cost.load_prices()
    assert cost.edge_answered_paths() == ["/api/csrf-token"]
    answered = cost.cost_of({"GET /api/csrf-token": {"requests": 1_000_000, "server_s": 2000.0}}, prices)
    cloudfront = prices["cloudfront"]["per_million_https_requests"]
    function = prices["cloudfront_functions"]["per_million_invocations"]
    assert (answered["cloudfront"], answered["cloudfront_functions"]) == (cloudfront, function)
    assert answered["total"] == round(cloudfront + function, 9)
    # A method the function passes on reaches API Gateway and a Lambda, after the function ran.
    posted = cost.cost_of({"POST /api/csrf-token": {"requests": 1_000_000, "server_s": 2000.0}}, prices)
    assert (
        posted["cloudfront_functions"] == function and posted["api_gateway_http"] > 0 and posted["lambda_requests"] > 0
    )
    # The websocket upgrades' path rewrite runs once per connection; plain REST runs no function.
    socket = cost.cost_of({"WS /api/events/in": {"requests": 3, "ws_messages": 9, "server_s": 1.0}}, prices)
    assert socket["cloudfront_functions"] == round(3 / 1e6 * function, 9)
    assert cost.cost_of({"GET /api/flows/x": {"requests": 5, "server_s": 0.1}}, prices)["cloudfront_functions"] == 0


def test_periodic_observed_state_writes_are_left_out_of_per_run_figures() -> None:
    # A flow's counters in which one observed-state pair was written (its once-a-minute refresh fell inside).
    routes: cost.Routes = {
        "POST /api/flow_runs/{id}/set_state": {
            "requests": 1,
            "ddb_calls": 5,
            "wru": 14.5,
            "stored_kept": 2000.0,
            "wru_by": {"PutItem:FLOW_RUN": 1.0, "PutItem:OBSERVED_STATE": 1.0, "PutItem:OBSERVED_STATE+GSI1": 0.5},
            "puts_by": {"FLOW_RUN": 1, "OBSERVED_STATE": 2},
            "put_bytes_by": {"FLOW_RUN": 700.0, "OBSERVED_STATE": 300.0},
            "wru_by_key": {
                "table FLOW_RUN#<id>": 1.0,
                "table OBSERVED_STATE#COMPLETED": 1.0,
                "GSI1 OBSERVED_STATES": 0.5,
            },
        }
    }
    per_run, periodic = cost.split_periodic(routes)
    r = per_run["POST /api/flow_runs/{id}/set_state"]
    assert periodic == 1.5
    assert r["wru"] == 13.0 and r["ddb_calls"] == 3 and r["stored_kept"] == 1700.0
    assert r["wru_by"] == {"PutItem:FLOW_RUN": 1.0}
    assert r["wru_by_key"] == {"table FLOW_RUN#<id>": 1.0}
    # The measured counters themselves are left as they were.
    assert routes["POST /api/flow_runs/{id}/set_state"]["wru"] == 14.5
