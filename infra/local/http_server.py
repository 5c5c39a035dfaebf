"""A small threaded HTTP/1.1 WSGI server with keep-alive, for the embedded emulator.

werkzeug's development server (moto's default) closes the connection after every
response and parses each request with `email.parser`: every AWS call the stack makes
costs a TCP connect, a new server thread and ~0.7 ms of request/response handling in
the emulator. Sharded reads send one Query per shard (36 for the UI's task-run count),
so those per-request costs were most of a read's time. Here a connection is kept
open (botocore pools and reuses them) and served by one thread for its life, so
long polls (SQS ReceiveMessage) block only their own connection, as before.

Only what the AWS SDKs send is supported: a request body with Content-Length or
chunked transfer encoding, `Expect: 100-continue`; the response is collected and
sent with its Content-Length (moto builds whole responses anyway). Headers whose
names contain an underscore are kept only as moto's own server keeps them (S3
object metadata), so one header cannot pose as another.
"""

from __future__ import annotations

import io
import logging
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Iterable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote_to_bytes

from moto.core.request import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    environ_key_for_header,
    should_preserve_original_header_name,
)

logger = logging.getLogger("serverflow.emulator.http")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_LINE = 65536
MAX_HEADERS = 200
# A pooled connection the client stopped using is closed after this long (botocore reopens one as needed).
IDLE_SECONDS = 300.0


class BadRequest(Exception):
    """The bytes on the connection are not a request this server can answer: answer 400 and close."""


def _read_headers(rfile: Any) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadRequest("header line too long")
        if line in (b"\r\n", b"\n"):
            return headers
        if not line:
            raise ConnectionResetError("connection closed inside the headers")
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip().decode('latin-1')}")
            continue
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("malformed header line")
        headers.append((name, value.strip()))
        if len(headers) > MAX_HEADERS:
            raise BadRequest("too many headers")


def _read_chunked(rfile: Any) -> bytes:
    body = bytearray()
    while True:
        size_line = rfile.readline(MAX_LINE + 1)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest("malformed chunk size") from None
        if size == 0:
            _read_headers(rfile)  # trailers, if any, end with a blank line
            return bytes(body)
        chunk = rfile.read(size + 2)
        if len(chunk) != size + 2:
            raise ConnectionResetError("connection closed inside a chunk")
        body += chunk[:size]


def _environ(
    method: str, target: str, version: str, headers: list[tuple[str, str]], body: bytes, server: KeepAliveServer
) -> dict[str, Any]:
    path, _, query = target.partition("?")
    if "://" in path:  # absolute form: the path starts after the authority
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _unquote_path(path),
        "QUERY_STRING": query,
        "REQUEST_URI": target,
        "RAW_URI": target,
        "SERVER_NAME": server.server_address[0],
        "SERVER_PORT": str(server.server_address[1]),
        "SERVER_PROTOCOL": version,
        "CONTENT_LENGTH": str(len(body)),
    }
    preserved: dict[str, str] = {}
    dashed = {environ_key_for_header(name) for name, _ in headers if "_" not in name}
    for name, value in headers:
        key = environ_key_for_header(name)
        if "_" in name:
            # As moto's server: only S3 metadata keeps an underscored name, never over a dashed header.
            if not should_preserve_original_header_name(name) or key in dashed:
                continue
            preserved.setdefault(key, name)
        if key == "CONTENT_LENGTH":
            continue  # the body's real length, set above (also for a chunked body)
        environ[key] = f"{environ[key]},{value}" if key in environ and key.startswith("HTTP_") else value
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the app gets the decoded body
    environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = preserved
    return environ


def _unquote_path(path: str) -> str:
    # WSGI's PATH_INFO is the percent-decoded path, as latin-1 characters of its bytes (PEP 3333).
    return unquote_to_bytes(path).decode("latin-1") if "%" in path else path


class _Connection(socketserver.StreamRequestHandler):
    server: KeepAliveServer
    timeout = IDLE_SECONDS

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.opened(self.connection)

    def finish(self) -> None:
        self.server.closed(self.connection)
        super().finish()

    def handle(self) -> None:
        try:
            while self._serve_one():
                pass
        except (ConnectionError, TimeoutError, OSError):
            pass  # the client went away or idled out: nothing to answer

    def _serve_one(self) -> bool:
        line = self.rfile.readline(MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # tolerated between requests (RFC 9112 §2.2)
            line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            return False
        try:
            parts = line.decode("latin-1").split()
            if len(parts) != 3 or len(line) > MAX_LINE or not parts[2].startswith("HTTP/1."):
                raise BadRequest("malformed request line")
            method, target, version = parts
            headers = _read_headers(self.rfile)
            fields = {name.lower(): value for name, value in headers}
            if "chunked" in fields.get("transfer-encoding", "").lower():
                if fields.get("expect", "").lower() == "100-continue":
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = _read_chunked(self.rfile)
            else:
                length = int(fields.get("content-length") or 0)
                if length < 0:
                    raise BadRequest("negative content length")
                if length and fields.get("expect", "").lower() == "100-continue":
                    self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = self.rfile.read(length) if length else b""
                if len(body) != length:
                    raise ConnectionResetError("connection closed inside the body")
        except (BadRequest, ValueError, UnicodeDecodeError):
            self.wfile.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        connection = fields.get("connection", "").lower()
        keep_alive = version == "HTTP/1.1" and "close" not in connection
        environ = _environ(method, target, version, headers, body, self.server)
        self._respond(environ, method, keep_alive)
        return keep_alive

    def _respond(self, environ: dict[str, Any], method: str, keep_alive: bool) -> None:
        started: list[tuple[str, list[tuple[str, str]]]] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [(status, headers)]
            return written.append

        written: list[bytes] = []
        try:
            result = self.server.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            logger.exception("The emulator failed on %s %s", method, environ.get("PATH_INFO"))
            started[:] = [("500 Internal Server Error", [("Content-Type", "text/plain")])]
            written[:] = [b"Internal emulator error"]
        status, headers = started[0] if started else ("500 Internal Server Error", [])
        body = b"".join(written)
        code = int(status.split(" ", 1)[0])
        lines = [f"HTTP/1.1 {status}"]
        own = {"content-length", "connection", "transfer-encoding"}
        lines += [f"{name}: {value}" for name, value in headers if name.lower() not in own]
        if method == "HEAD" or code in (204, 304) or code < 200:
            # No body follows; a HEAD keeps the length the app announced (S3 HeadObject's object size).
            announced = [value for name, value in headers if name.lower() == "content-length"]
            if method == "HEAD" and announced:
                lines.append(f"Content-Length: {announced[0]}")
            body = b""
        else:
            lines.append(f"Content-Length: {len(body)}")
        if not any(name.lower() == "date" for name, _ in headers):
            lines.append(f"Date: {formatdate(usegmt=True)}")
        if not keep_alive:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


class KeepAliveServer(socketserver.ThreadingTCPServer):
    """Serves `app` on (host, port): one daemon thread per open connection."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, host: str, port: int, app: WSGIApp) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__((host, port), _Connection)

    def opened(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.add(connection)

    def closed(self, connection: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(connection)

    def shutdown(self) -> None:
        """Stop accepting, then end the kept-alive connections: a stopped emulator answers nothing more
        (a connection's request in progress still completes; its answer may not reach the client)."""
        super().shutdown()
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by its client

    @property
    def server_port(self) -> int:
        return int(self.server_address[1])
