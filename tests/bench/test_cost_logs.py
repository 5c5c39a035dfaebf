"""The cost model prices CloudWatch Logs as template.yaml deploys the functions (issue #13).

Lambda sends its platform records (START, REPORT) and the functions' own records below the configured
levels nowhere, so they cost nothing; what is sent is priced per byte ingested.
"""

from __future__ import annotations

import logging

from bench import cost
from bench.ddb_meter import METER, ROUTE
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
