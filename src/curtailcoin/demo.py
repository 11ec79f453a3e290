"""``curtailcoin demo``: the whole product on simulated data, with no network.

The project's own test servers (Elexon Insights, mempool.space, CoinGecko) run in this process on
ephemeral loopback ports; the CLI points the settings at them and at a throwaway SQLite file,
and this module fills it the way a real installation is filled: the simulated-data flag first
(``curtailcoin.simulated``), the reference data, the last N settlement dates through the
ordinary backfill (difficulty from the test mempool.space, the prices of the range with them),
then the fees per block. Nothing here computes a figure of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from random import Random

from curtailcoin.backfill import BackfillResult, ProgressCallback, backfill
from curtailcoin.config import Settings
from curtailcoin.db.engine import get_engine
from curtailcoin.fees import period_to_cover, update_fees
from curtailcoin.pipeline import BadInput, prepare_database
from curtailcoin.settlement import settlement_today
from curtailcoin.simulated import holds_data, is_simulated, mark_simulated
from curtailcoin.sources.http import SourceError
from curtailcoin.testservers.coingecko import CoinGeckoTestServer
from curtailcoin.testservers.elexon import ElexonTestServer
from curtailcoin.testservers.mempool import MempoolTestServer

log = logging.getLogger("curtailcoin.demo")

MAX_DAYS = 366
SEED = 1
EPOCH_S = 14 * 86_400


@dataclass
class DemoServers:
    """The three test servers of a demo, started and stopped together."""

    elexon: ElexonTestServer
    mempool: MempoolTestServer
    coingecko: CoinGeckoTestServer

    def env(self) -> dict[str, str]:
        """The settings that point CurtailCoin at these servers."""
        return {
            "CURTAILCOIN_ELEXON_BASE_URL": self.elexon.base_url,
            "CURTAILCOIN_MEMPOOL_BASE_URL": self.mempool.base_url,
            "CURTAILCOIN_COINGECKO_BASE_URL": self.coingecko.base_url,
        }

    def stop(self) -> None:
        for server in (self.elexon, self.mempool, self.coingecko):
            server.stop()


def extend_epochs(server: MempoolTestServer, now: datetime, seed: int = SEED) -> int:
    """Add epochs every ~14 days after the packaged table's last one, up to ``now``, so every
    demo date has a known difficulty (none is left pending). Deterministic in ``seed``; the
    difficulty moves by a few per cent per epoch, as it does. Returns the epochs added."""
    added = 0
    while True:
        last = server.epochs[-1]
        draw = Random(f"{seed}|demo-epoch|{last.epoch + 1}")
        start = last.time + EPOCH_S + draw.randint(-43_200, 43_200)
        if start > now.timestamp():
            return added
        server.add_epoch(start, difficulty=last.difficulty * draw.uniform(0.97, 1.05))
        added += 1


@contextmanager
def running_servers(now: datetime | None = None, seed: int = SEED) -> Iterator[DemoServers]:
    """The demo's test servers on ephemeral loopback ports, stopped on exit."""
    servers = DemoServers(
        ElexonTestServer(seed=seed),
        MempoolTestServer(seed=seed),
        CoinGeckoTestServer(seed=seed),
    )
    extend_epochs(servers.mempool, now or datetime.now(UTC), seed)
    try:
        for server in (servers.elexon, servers.mempool, servers.coingecko):
            server.start()
        yield servers
    finally:
        servers.stop()


def demo_range(days: int, now: datetime | None = None) -> tuple[date, date]:
    """The last ``days`` settlement dates, today's included."""
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(f"--days {days} is not allowed: use 1..{MAX_DAYS}")
    end = settlement_today(now)
    return end - timedelta(days=days - 1), end


def claim_database(settings: Settings) -> None:
    """Flag the database as simulated before anything is written into it; a database that
    already holds real data is refused (``BadInput``), so a demo never mixes into one."""
    engine = get_engine(settings.database_url)
    with engine.begin() as conn:
        simulated = is_simulated(conn)
    if not simulated and holds_data(engine):
        raise BadInput(
            f"{engine.url.database} holds real data: the demo writes simulated data only into "
            f"a new database or an earlier demo's; give another --database"
        )
    prepare_database(engine)
    with engine.begin() as conn:
        mark_simulated(conn, f"curtailcoin demo, test servers seed {SEED}")


@dataclass
class DemoResult:
    """What filling the demo database did."""

    backfill: BackfillResult
    fee_rows: int = 0
    problems: list[str] = field(default_factory=list)


async def populate(
    settings: Settings,
    start: date,
    end: date,
    *,
    on_date: ProgressCallback | None = None,
) -> DemoResult:
    """Backfill ``[start, end]`` (with its prices), then the fees per block of the range."""
    result = DemoResult(await backfill(settings, start, end, restart=True, on_date=on_date))
    for day, reason in sorted(result.backfill.failures.items()):
        result.problems.append(f"{day}: {reason}")
    for day, reason in sorted(result.backfill.prices_missing.items()):
        result.problems.append(f"{day}: no BTC price: {reason}")
    engine = get_engine(settings.database_url)
    try:
        fees = await update_fees(
            engine, settings, period_to_cover(start - timedelta(days=1), datetime.now(UTC).date())
        )
        result.fee_rows = fees.stored
    except (SourceError, ValueError, OSError) as exc:
        result.problems.append(f"fees per block: {exc}")
    return result
