"""Shared machinery of the local test servers: fault injection, request log and HTTP plumbing.

Every test server is a :class:`BaseTestServer`: a standard-library ``ThreadingHTTPServer`` bound to
127.0.0.1 (port 0 by default), served from a background thread, usable as a context manager or
with :meth:`~BaseTestServer.start` / :meth:`~BaseTestServer.stop`.

Faults are queued on ``server.faults`` (a :class:`FaultRegistry`) and consumed in order by the
requests whose path matches::

    server.faults.add("429", match=r"/stack/all/bid/2025-01-17/", times=2, retry_after_s=1)
    server.faults.add("5xx", status=502)               # every request, forever
    server.faults.add("timeout", times=1, delay_s=2.0)  # hold one request for 2 s
    server.faults.clear()

Kinds:

``"429"``
    status 429 with a ``Retry-After: <seconds>`` header (the server's error body).
``"5xx"``
    status ``status`` (500..599, default 503) with the server's error body.
``"timeout"``
    the request is held for ``delay_s`` (default ``server.timeout_s``, 5 s) before it is answered
    normally, so a client whose read timeout is shorter sees a timeout. The wait ends at once
    when the server stops (the connection is then closed without an answer).
``"reset"``
    the connection is closed with ``SO_LINGER`` 0 before any byte of the answer: the client
    sees a TCP reset (``httpx.ReadError`` / ``httpx.RemoteProtocolError``).
``"truncated"``
    the real answer's headers with its full ``Content-Length``, then only the first half of the
    body, then the connection is closed (``httpx.RemoteProtocolError``).
``"invalid_json"``
    status 200, ``Content-Type: application/json``, a body that is not JSON
    (:data:`INVALID_JSON_BODY`).
``"missing_field"``, ``"renamed_field"``, ``"null_field"``, ``"set_field"``, ``"empty_data"``,
``"duplicate_line"``
    schema drift: the real 200 answer with its lines rewritten (``field``, ``to``, ``value``,
    ``unit``, ``line``; see :mod:`curtailcoin.testservers.drift`), e.g.
    ``faults.add("set_field", field="volume", value="-Infinity", line=0)``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self, cast, get_args
from urllib.parse import parse_qs, urlsplit

from curtailcoin.testservers.drift import DRIFT_KINDS, DriftKind, DriftSpec, rewrite_body

FaultKind = Literal["429", "5xx", "timeout", "reset", "truncated", "invalid_json", DriftKind]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)  # nested Literals flatten

#: The body sent by the ``invalid_json`` fault (with status 200 and ``application/json``).
INVALID_JSON_BODY = b"<html><body><h1>Service temporarily unavailable</h1></body></html>\n"

Query = dict[str, list[str]]


@dataclass
class Fault:
    """One queued fault. ``times`` counts down; ``None`` means forever."""

    kind: str
    match: str | None = None
    times: int | None = None
    retry_after_s: float = 1.0
    status: int = 503
    delay_s: float | None = None
    drift: DriftSpec | None = None
    hits: int = 0
    _regex: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: allowed {', '.join(FAULT_KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be a positive integer or None, not {self.times!r}")
        if self.kind == "5xx" and not 500 <= self.status <= 599:
            raise ValueError(f"a 5xx fault needs a status in 500..599, not {self.status}")
        if self.kind == "429":
            self.status = 429
        if self.retry_after_s < 0:
            raise ValueError("retry_after_s must be >= 0")
        if self.kind in DRIFT_KINDS:
            self.drift = self.drift or DriftSpec(self.kind)
            self.drift.check()
        self._regex = re.compile(self.match) if self.match is not None else None

    def matches(self, path: str, target: str) -> bool:
        """True when the regex finds a match in the path (or in ``path?query``)."""
        if self._regex is None:
            return True
        return bool(self._regex.search(path) or self._regex.search(target))

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.times <= 0


class FaultRegistry:
    """Thread-safe ordered list of faults; the first matching, non-exhausted fault wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        kind: FaultKind | str,
        *,
        match: str | None = None,
        times: int | None = None,
        retry_after_s: float = 1,
        status: int = 503,
        delay_s: float | None = None,
        field: str | None = None,
        to: str | None = None,
        value: str | None = None,
        unit: str | None = None,
        line: int | None = None,
    ) -> Fault:
        """Queue a fault for requests whose path matches ``match`` (``re.search``; None = all).

        ``times``: how many requests it applies to (None = forever). ``retry_after_s``: the
        ``Retry-After`` value of a 429. ``status``: the status of a ``5xx``. ``delay_s``: how long a
        ``timeout`` holds the request (default: the server's ``timeout_s``). ``field``, ``to``,
        ``value``, ``unit``, ``line``: what a drift fault changes (:class:`DriftSpec`).
        """
        drift = (
            DriftSpec(str(kind), field=field, to=to, value=value, unit=unit, line=line)
            if str(kind) in DRIFT_KINDS
            else None
        )
        fault = Fault(
            kind=str(kind),
            match=match,
            times=times,
            retry_after_s=float(retry_after_s),
            status=status,
            delay_s=delay_s,
            drift=drift,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f is not fault]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, path: str, target: str | None = None) -> Fault | None:
        """Consume one use of the first fault matching this request, if any."""
        target = path if target is None else target
        with self._lock:
            for fault in self._faults:
                if fault.exhausted or not fault.matches(path, target):
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
                if fault.exhausted:
                    self._faults = [f for f in self._faults if f is not fault]
                return fault
        return None

    @property
    def active(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def __len__(self) -> int:
        return len(self.active)


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (times are ``time.monotonic()``)."""

    method: str
    path: str
    query: str
    status: int | None  # None: no HTTP status was sent (reset, or dropped at shutdown)
    fault: str | None
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass
class Response:
    """An answer to send."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: Any,
    status: int = 200,
    *,
    content_type: str = "application/json; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, content_type, dict(headers or {}))


def format_retry_after(seconds: float) -> str:
    """``Retry-After`` value: an integer when the value is whole (``1``), else ``0.25``."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    owner: BaseTestServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CurtailCoinTestServer/1.0"

    @property
    def owner(self) -> BaseTestServer:
        return cast(_HTTPServer, self.server).owner

    def setup(self) -> None:
        super().setup()
        self.owner._register_connection(self.connection)

    def finish(self) -> None:
        try:
            with contextlib.suppress(OSError):
                super().finish()
        finally:
            self.owner._unregister_connection(self.connection)

    def do_GET(self) -> None:
        self.owner._serve(self, "GET")

    def do_HEAD(self) -> None:
        self.owner._serve(self, "HEAD")

    def _not_allowed(self) -> None:
        self.owner._serve(self, self.command)

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the owner keeps its own request log


class BaseTestServer:
    """A local HTTP server with a request log, latency and injectable faults.

    Subclasses set :attr:`base_path` and implement :meth:`handle` (and usually
    :meth:`error_response`).
    """

    base_path = ""
    name = "test server"

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_s: float = 0.0,
        timeout_s: float = 5.0,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self._port = port
        self.latency_s = latency_s
        self.timeout_s = timeout_s
        self.verbose = verbose
        self.faults = FaultRegistry()
        self._log: list[RequestRecord] = []
        self._state_lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve in a daemon thread. A restarted server keeps its port."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((self.host, self._port), _Handler)
        httpd.owner = self
        self._port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake held requests and close every open connection."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._state_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        deadline = time.monotonic() + 2.0
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.005)  # let woken handlers finish and log
        self._httpd = None
        self._thread = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None and self._port == 0:
            raise RuntimeError(f"{self.name} is not started")
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL a client uses as its base (no trailing slash)."""
        return self.root_url + self.base_path

    def url(self, path: str) -> str:
        return self.base_url + path

    # -- request log -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """A copy of the request log, in completion order."""
        with self._state_lock:
            return list(self._log)

    def requests_matching(self, pattern: str) -> list[RequestRecord]:
        regex = re.compile(pattern)
        return [r for r in self.requests if regex.search(r.target)]

    def clear_requests(self) -> None:
        """Empty the log and reset ``max_in_flight``."""
        with self._state_lock:
            self._log.clear()
            self._max_in_flight = self._in_flight

    @property
    def in_flight(self) -> int:
        with self._state_lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Peak number of requests being handled at the same time."""
        with self._state_lock:
            return self._max_in_flight

    # -- to override -------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: Query) -> Response:
        """Answer a request; ``path`` is relative to :attr:`base_path`."""
        return self.error_response(404, detail=f"no route for {path}")

    def error_response(
        self, status: int, *, detail: str | None = None, retry_after_s: float | None = None
    ) -> Response:
        phrase = HTTPStatus(status).phrase
        headers = {}
        if retry_after_s is not None:
            headers["Retry-After"] = format_retry_after(retry_after_s)
        text = f"{status} {phrase}" + (f": {detail}" if detail else "")
        return Response(status, (text + "\n").encode(), "text/plain; charset=utf-8", headers)

    # -- plumbing ----------------------------------------------------------------------------

    def _register_connection(self, conn: socket.socket) -> None:
        with self._state_lock:
            self._connections.add(conn)

    def _unregister_connection(self, conn: socket.socket) -> None:
        with self._state_lock:
            self._connections.discard(conn)

    def _dispatch(self, method: str, path: str, query: Query) -> Response:
        if method not in ("GET", "HEAD"):
            resp = self.error_response(405, detail=f"method {method} not allowed")
            resp.headers["Allow"] = "GET, HEAD"
            return resp
        if not (path == self.base_path or path.startswith(self.base_path + "/")):
            return self.error_response(404, detail=f"no route for {path}")
        try:
            return self.handle(method, path[len(self.base_path) :], query)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return self.error_response(500, detail=f"test server bug: {exc!r}")

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        ex = _Exchange(self, handler, method, parts.path, parts.query)
        with self._state_lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if self.latency_s > 0 and self._stopping.wait(self.latency_s):
                ex.abort()
                return
            fault = self.faults.take(ex.path, ex.target)
            if fault is None:
                ex.send(self._dispatch(method, ex.path, ex.query))
            else:
                ex.fault = fault.kind
                self._apply_fault(ex, fault)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            handler.close_connection = True
        finally:
            ex.log(ex.status)

    def _record(self, record: RequestRecord) -> None:
        """Log a finished request (it stops counting as in flight)."""
        with self._state_lock:
            self._log.append(record)
            self._in_flight -= 1
        if self.verbose:
            shown = "-" if record.status is None else str(record.status)
            extra = f" fault={record.fault}" if record.fault else ""
            print(
                f"{record.method} {record.target} {shown}{extra} {1000 * record.duration:.1f} ms",
                file=sys.stderr,
                flush=True,
            )

    def _apply_fault(self, ex: _Exchange, fault: Fault) -> None:
        if fault.kind == "429":
            resp = self.error_response(
                429,
                detail=f"Rate limit is exceeded. Try again in {fault.retry_after_s:g} seconds.",
                retry_after_s=fault.retry_after_s,
            )
            resp.headers["Retry-After"] = format_retry_after(fault.retry_after_s)
            ex.send(resp)
        elif fault.kind == "5xx":
            ex.send(self.error_response(fault.status))
        elif fault.kind == "timeout":
            delay = self.timeout_s if fault.delay_s is None else fault.delay_s
            if self._stopping.wait(delay):
                ex.abort()
            else:
                ex.send(self._dispatch(ex.method, ex.path, ex.query))
        elif fault.kind == "reset":
            ex.abort()
        elif fault.kind == "truncated":
            resp = self._dispatch(ex.method, ex.path, ex.query)
            ex.send(
                resp,
                body=resp.body[: len(resp.body) // 2],
                declared_length=max(len(resp.body), 2),
                close=True,
            )
        elif fault.drift is not None:
            resp = self._dispatch(ex.method, ex.path, ex.query)
            if resp.status == 200:
                resp = Response(200, rewrite_body(resp.body, fault.drift), resp.content_type)
            ex.send(resp)
        else:  # invalid_json
            ex.send(Response(200, INVALID_JSON_BODY))


class _Exchange:
    """One request being answered. The log entry is written just before the last bytes go
    out, so a client that has its answer always finds the request in the log."""

    def __init__(
        self,
        server: BaseTestServer,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        raw_query: str,
    ) -> None:
        self.server = server
        self.handler = handler
        self.method = method
        self.path = path
        self.raw_query = raw_query
        self.target = f"{path}?{raw_query}" if raw_query else path
        self.query = parse_qs(raw_query, keep_blank_values=True)
        self.start = time.monotonic()
        self.status: int | None = None
        self.fault: str | None = None
        self._logged = False

    def log(self, status: int | None) -> None:
        if self._logged:
            return
        self._logged = True
        record = RequestRecord(
            self.method,
            self.path,
            self.raw_query,
            status,
            self.fault,
            self.start,
            time.monotonic(),
        )
        self.server._record(record)

    def send(
        self,
        resp: Response,
        *,
        body: bytes | None = None,
        declared_length: int | None = None,
        close: bool = False,
    ) -> None:
        handler = self.handler
        payload = resp.body if body is None else body
        self.status = resp.status
        handler.send_response(resp.status)
        handler.send_header("Content-Type", resp.content_type)
        length = len(payload) if declared_length is None else declared_length
        handler.send_header("Content-Length", str(length))
        for name, value in resp.headers.items():
            handler.send_header(name, value)
        if close:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        self.log(resp.status)
        handler.end_headers()
        if self.method != "HEAD":
            handler.wfile.write(payload)
        handler.wfile.flush()

    def abort(self) -> None:
        """Close the connection with SO_LINGER 0 (the peer gets a TCP RST), answering nothing."""
        self.log(None)
        handler = self.handler
        handler.close_connection = True
        conn = handler.connection
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            handler.rfile.close()  # drop the makefile reference so close() is real
        with contextlib.suppress(OSError):
            conn.close()
