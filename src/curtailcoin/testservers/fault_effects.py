"""What each fault kind does to a request: one function per kind, applied by :func:`apply_fault`.

HTTP-level faults answer an error (``429``, ``5xx``), hold the request (``timeout``), break the
connection (``reset``, ``truncated``) or send a body that is not JSON (``invalid_json``); drift
faults rewrite the real 200 answer (:mod:`curtailcoin.testservers.drift`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from curtailcoin.testservers.drift import DRIFT_KINDS, rewrite_body
from curtailcoin.testservers.exchange import Exchange
from curtailcoin.testservers.faults import INVALID_JSON_BODY, Fault
from curtailcoin.testservers.responses import Response, format_retry_after

if TYPE_CHECKING:
    from curtailcoin.testservers.server import BaseTestServer

Effect = Callable[["BaseTestServer", Exchange, Fault], None]


def _rate_limited(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    resp = server.error_response(
        429,
        detail=f"Rate limit is exceeded. Try again in {fault.retry_after_s:g} seconds.",
        retry_after_s=fault.retry_after_s,
    )
    resp.headers["Retry-After"] = format_retry_after(fault.retry_after_s)
    ex.send(resp)


def _server_error(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    ex.send(server.error_response(fault.status))


def _timeout(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    delay = server.timeout_s if fault.delay_s is None else fault.delay_s
    if server.hold(delay):
        ex.abort()
    else:
        ex.send(server.answer(ex))


def _reset(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    ex.abort()


def _truncated(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    resp = server.answer(ex)
    ex.send(
        resp,
        body=resp.body[: len(resp.body) // 2],
        declared_length=max(len(resp.body), 2),
        close=True,
    )


def _invalid_json(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    ex.send(Response(200, INVALID_JSON_BODY))


def _drift(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    resp = server.answer(ex)
    if resp.status == 200 and fault.drift is not None:
        resp = Response(200, rewrite_body(resp.body, fault.drift), resp.content_type)
    ex.send(resp)


EFFECTS: dict[str, Effect] = {
    "429": _rate_limited,
    "5xx": _server_error,
    "timeout": _timeout,
    "reset": _reset,
    "truncated": _truncated,
    "invalid_json": _invalid_json,
    **dict.fromkeys(DRIFT_KINDS, _drift),
}


def apply_fault(server: BaseTestServer, ex: Exchange, fault: Fault) -> None:
    """Answer the exchange as the fault's kind says."""
    EFFECTS[fault.kind](server, ex, fault)
