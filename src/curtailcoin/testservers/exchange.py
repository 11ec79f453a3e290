"""One request being answered, and the request log's record of it.

The exchange writes the status line, headers and body itself (or aborts with a TCP reset), so a
fault can send a partial answer; the log entry is written just before the last bytes go out.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from curtailcoin.testservers.responses import Response

if TYPE_CHECKING:
    from curtailcoin.testservers.server import BaseTestServer


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


class Exchange:
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
