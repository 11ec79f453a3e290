"""Local HTTP test servers that speak the real APIs' formats, with injectable faults.

Import each name from the module that defines it (this package re-exports nothing):

* :mod:`~curtailcoin.testservers.elexon`: :class:`ElexonTestServer`, the Elexon Insights endpoints
  CurtailCoin uses (settlement stacks, acceptance volumes, BM units), with deterministic realistic
  days and an oracle (``headline``). Its data: ``stacks`` (:class:`StackGenerator`), drawn line
  by line (``draws``, ``lines``) from the BM units (``units``), revised by later settlement runs
  (``revisions``), with acceptance volumes (``acceptances``).
* :mod:`~curtailcoin.testservers.mempool`: :class:`MempoolTestServer`, difficulty adjustments
  (``epochs``) and BTC prices (``prices.PriceBook``, shared through ``priced``).
* :mod:`~curtailcoin.testservers.coingecko`: :class:`CoinGeckoTestServer`, BTC price history.

Each server is a ``server.BaseTestServer``: it binds 127.0.0.1 (port 0 by default), runs in a
background thread, is a context manager, keeps a request log (``exchange.RequestRecord``) and
``max_in_flight``, has ``latency_s``, and takes faults through
``server.faults.add(kind, match=..., times=...)`` (``faults``, applied by ``fault_effects``;
schema drift in ``drift``). See ``docs/testservers.md``.
"""
