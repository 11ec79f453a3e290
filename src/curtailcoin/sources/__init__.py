"""Clients for the outside world: Elexon Insights, mempool.space, price sources.

httpx's package ``__init__`` imports its own command-line client (click, rich and pygments:
about 0.1 s at every start of a command that fetches). A ``None`` entry in ``sys.modules`` makes
that one import fail, which httpx expects (it then defines a stub ``main``); the entry is removed
at once, so an explicit ``import httpx._main`` later still works. Import httpx through here
(``from curtailcoin.sources import httpx``) or after this package.
"""

from __future__ import annotations

import sys

if "httpx" not in sys.modules:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if sys.modules.get("httpx._main", ...) is None:
            del sys.modules["httpx._main"]

import httpx

__all__ = ["httpx"]
