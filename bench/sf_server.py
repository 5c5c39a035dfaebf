"""Run the Serverflow local stack (`python -m infra.local ...`) with bench instrumentation.

    python -m bench.sf_server --port P --emulator-port E     (BENCH_COUNTERS_PORT=C in the environment)

Adds, without touching the stack's code: a logging handler metering the bytes the functions would log to
CloudWatch Logs at the template's ApplicationLogLevel, botocore hooks counting DynamoDB calls (bench.ddb_meter), an ASGI
wrapper that attributes them to routes and times each request server-side (and each batch of the priced
stream-fed functions, route "stream:<LogicalId>"), and a side HTTP server on
127.0.0.1:C answering GET /counters (JSON), POST /reset, POST /tick, POST /seed (unmeasured bulk seeding,
see bench/seed.py) and POST /replay_ws (websocket frames through the Lambda handler, one invocation each, as
AWS runs them: bench/ws_replay.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.cost import application_log_level, load_prices
from bench.ddb_meter import METER, ROUTE, install

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

Scope = dict[str, Any]


def route_of(scope: Scope) -> str:
    path = UUID_RE.sub("{id}", scope.get("path", ""))
    return ("WS " if scope["type"] == "websocket" else f"{scope.get('method', '?')} ") + path


class MeterMiddleware:
    """Outermost ASGI wrapper: sets the route contextvar, times the request, counts websocket messages."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        route = route_of(scope)
        token = ROUTE.set(route)
        t0 = time.perf_counter()

        async def counting_receive() -> Any:
            msg = await receive()
            if msg.get("type") == "websocket.receive":
                METER.record_ws_message(route)
            return msg

        try:
            await self.app(scope, counting_receive if scope["type"] == "websocket" else receive, send)
        finally:
            METER.record_request(route, time.perf_counter() - t0)
            ROUTE.reset(token)


# Stream-fed functions whose invocations are priced as such (route "stream:<LogicalId>": one Lambda invocation
# per batch, no API Gateway): the task-run recorder does the recording a client's task runs cost, the event feed
# the time index of their events. The others
# (fan-out, automations) stay "background", as before.
PRICED_STREAM_FUNCTIONS = {"TaskRunRecorderFunction", "EventFeedFunction"}


def patch_streams() -> None:
    """Attribute each priced stream function's batch (one Lambda invocation on AWS) to its own route, timed."""
    from infra.local.streams import StreamReader

    orig_invoke = StreamReader._invoke

    def invoke(self: StreamReader, function: Any, handler: Any, records: list[dict[str, Any]]) -> bool:
        if function.logical_id not in PRICED_STREAM_FUNCTIONS:
            return orig_invoke(self, function, handler, records)
        route = f"stream:{function.logical_id}"
        token = ROUTE.set(route)
        t0 = time.perf_counter()
        try:
            return orig_invoke(self, function, handler, records)
        finally:
            METER.record_request(route, time.perf_counter() - t0)
            ROUTE.reset(token)

    StreamReader._invoke = invoke  # type: ignore[method-assign]  # patches the stack in place (bench instrumentation)


def patch_uvicorn() -> None:
    import uvicorn.config

    orig_load = uvicorn.config.Config.load

    def load(self: uvicorn.config.Config) -> None:
        orig_load(self)
        self.loaded_app = MeterMiddleware(self.loaded_app)

    uvicorn.config.Config.load = load  # type: ignore[method-assign]  # patches the library in place (local emulator / bench instrumentation)


class _Counters(BaseHTTPRequestHandler):
    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply({"routes": METER.snapshot(), "gsis": METER.gsis, "time": time.time()})

    def do_POST(self) -> None:
        if self.path.startswith("/tick"):
            self._reply({"ticks": tick_all()})
            return
        if self.path.startswith("/replay_ws"):
            from bench.ws_replay import replay

            self._reply(replay(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))))
            return
        if self.path.startswith("/seed"):
            self._reply(seed(json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))))
            return
        METER.reset()
        self._reply({"reset": True})

    def log_message(self, *args: Any) -> None:
        pass


def tick_all() -> list[dict[str, Any]]:
    """Invoke each scheduled function of template.yaml once, as its EventBridge schedule would, and
    report its time and DynamoDB work (attributed to route "tick:<LogicalId>")."""
    try:
        from infra.local.schedules import invoke, scheduled_functions

        functions = scheduled_functions()
    except Exception as e:  # noqa: BLE001 - any failure is reported to the bench driver as data
        return [{"error": repr(e)}]
    out: list[dict[str, Any]] = []
    for fn in functions:
        route = f"tick:{fn.logical_id}"
        token = ROUTE.set(route)
        t0 = time.perf_counter()
        err = None
        try:
            invoke(fn)
        except Exception as e:  # noqa: BLE001 - any failure is reported to the bench driver as data
            err = repr(e)[:300]
        finally:
            dt = time.perf_counter() - t0
            ROUTE.reset(token)
        METER.record_request(route, dt)
        r = METER.snapshot().get(route, {})
        out.append(
            {
                "name": fn.logical_id,
                "every_seconds": fn.every_seconds,
                "seconds": round(dt, 4),
                "ddb_calls": r.get("ddb_calls", 0) / max(r.get("requests", 1), 1),
                "rru": r.get("rru", 0) / max(r.get("requests", 1), 1),
                "wru": r.get("wru", 0) / max(r.get("requests", 1), 1),
                "error": err,
            }
        )
    return out


def seed(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Unmeasured bulk seeding through the storage code path of POST /flow_runs/ (bench.seed.sf_seed);
    its DynamoDB calls are attributed to route "bench:seed", outside every measured operation."""
    from bench.seed import sf_seed

    token = ROUTE.set("bench:seed")
    t0 = time.perf_counter()
    try:
        ids = sf_seed(bodies)
    except Exception as e:  # noqa: BLE001 - any failure is reported to the bench driver as data
        return {"ids": [], "error": repr(e)[:1000]}
    finally:
        ROUTE.reset(token)
    return {"ids": ids, "seconds": round(time.perf_counter() - t0, 2)}


# Loggers of the local stack only (uvicorn, the emulator, the stack's runner): no Lambda emits them.
LOCAL_ONLY_LOGGERS = ("uvicorn", "infra", "moto", "werkzeug")


class LogMeter(logging.Handler):
    """Counts, per route, the bytes of the log records the functions would send to CloudWatch Logs: those at
    or above the template's ApplicationLogLevel, each as a JSON record (message + Powertools' envelope)."""

    def __init__(self, level: int, envelope_bytes: int) -> None:
        super().__init__(level)
        self.envelope_bytes = envelope_bytes

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(LOCAL_ONLY_LOGGERS):
            return
        size = len(record.getMessage().encode()) + self.envelope_bytes
        if record.exc_info:
            size += len(self.format(record).encode())
        METER.record_log(ROUTE.get(), size)


def install_log_meter() -> None:
    level = logging.getLevelName(application_log_level())
    level = level if isinstance(level, int) else logging.INFO
    envelope = int(load_prices()["assumptions"]["json_log_envelope_bytes"])
    root = logging.getLogger()
    root.addHandler(LogMeter(level, envelope))
    if root.level > level:
        root.setLevel(level)


def serve_counters(port: int) -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", port), _Counters)
    threading.Thread(target=srv.serve_forever, daemon=True, name="bench-counters").start()


def main() -> None:
    install()
    install_log_meter()
    patch_uvicorn()
    patch_streams()
    port = int(os.environ.get("BENCH_COUNTERS_PORT", "0"))
    if port:
        serve_counters(port)
    from infra.local.__main__ import main as stack_main

    stack_main(sys.argv[1:])


if __name__ == "__main__":
    main()
