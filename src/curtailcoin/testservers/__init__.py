"""Local HTTP test servers that speak the real APIs' formats, with injectable faults.

* :class:`ElexonTestServer`: the Elexon Insights endpoints CurtailCoin uses (settlement stacks,
  acceptance volumes, BM units), with deterministic realistic days and an oracle.
* :class:`MempoolTestServer`: mempool.space difficulty adjustments and BTC prices.
* :class:`CoinGeckoTestServer`: CoinGecko's BTC price history.

Each server binds 127.0.0.1 (port 0 by default), runs in a background thread, is a context
manager, keeps a request log and ``max_in_flight``, has ``latency_s``, and takes faults through
``server.faults.add(kind, match=..., times=...)``. See ``docs/testservers.md``.
"""

from curtailcoin.testservers.elexon import DayHeadline, ElexonTestServer, PeriodHeadline
from curtailcoin.testservers.faults import (
    FAULT_KINDS,
    INVALID_JSON_BODY,
    BaseTestServer,
    Fault,
    FaultKind,
    FaultRegistry,
    RequestRecord,
)
from curtailcoin.testservers.generator import PriceBook, StackGenerator
from curtailcoin.testservers.mempool import CoinGeckoTestServer, MempoolTestServer

__all__ = [
    "FAULT_KINDS",
    "INVALID_JSON_BODY",
    "BaseTestServer",
    "CoinGeckoTestServer",
    "DayHeadline",
    "ElexonTestServer",
    "Fault",
    "FaultKind",
    "FaultRegistry",
    "MempoolTestServer",
    "PeriodHeadline",
    "PriceBook",
    "RequestRecord",
    "StackGenerator",
]
