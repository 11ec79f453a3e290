"""The base of every local test server: a ``ThreadingHTTPServer`` on 127.0.0.1 in a background
thread, with a request log, latency and injectable faults.

Usable as a context manager or with :meth:`~BaseTestServer.start` / :meth:`~BaseTestServer.stop`;
subclasses set :attr:`~BaseTestServer.base_path` and implement :meth:`~BaseTestServer.handle`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import urlsplit

from curtailcoin.testservers.exchange import Exchange, RequestRecord
from curtailcoin.testservers.fault_effects import apply_fault
from curtailcoin.testservers.faults import FaultRegistry
from curtailcoin.testservers.responses import Query, Response, format_retry_after


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

    def answer(self, ex: Exchange) -> Response:
        """The server's real answer to the exchange's request (faults aside)."""
        return self._dispatch(ex.method, ex.path, ex.query)

    def hold(self, delay_s: float) -> bool:
        """Wait ``delay_s``; True when the server stopped meanwhile (the wait then ends at once)."""
        return self._stopping.wait(delay_s)

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        ex = Exchange(self, handler, method, parts.path, parts.query)
        with self._state_lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            if self.latency_s > 0 and self.hold(self.latency_s):
                ex.abort()
                return
            fault = self.faults.take(ex.path, ex.target)
            if fault is None:
                ex.send(self.answer(ex))
            else:
                ex.fault = fault.kind
                apply_fault(self, ex, fault)
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
