"""Reference data in the database: miner models, difficulty epochs, halvings, refresh times.

The package ships the public facts (epochs, halvings, the miner catalogue); they are loaded into
the database on first use and refreshed from mempool.space when a period lies beyond them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, inspect, select

from curtailcoin.db.dialect import not_created
from curtailcoin.db.engine import make_engine, normalise_url
from curtailcoin.db.reference_tables import (
    difficulty_epochs,
    halvings,
    miner_models,
    source_refreshes,
)
from curtailcoin.db.upsert import upsert
from curtailcoin.epochs import (
    Epoch,
    load_packaged_epochs,
    merge_mempool_epochs,
    parse_mempool_adjustments,
)
from curtailcoin.halvings import Halving, load_packaged_halvings
from curtailcoin.miners import MinerModel, load_catalogue
from curtailcoin.network import NetworkTimeline
from curtailcoin.sources.http import JsonHttpClient

log = logging.getLogger("curtailcoin.reference")


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _count(conn: Connection, table: object) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def store_epochs(conn: Connection, epochs: list[Epoch]) -> None:
    now = datetime.now(UTC)
    upsert(
        conn,
        difficulty_epochs,
        [
            {
                "epoch": e.epoch,
                "start_height": e.start_height,
                "start_time_utc": e.start_time_utc,
                "start_time_source": e.start_time_source,
                "difficulty": e.difficulty,
                "updated_at": now,
            }
            for e in epochs
        ],
        ["epoch"],
    )


def ensure_reference_data(conn: Connection) -> None:
    """Load the shipped catalogue, epochs and halvings where the database lacks them."""
    catalogue = load_catalogue()
    upsert(
        conn,
        miner_models,
        [
            {
                "model_key": m.key,
                "manufacturer": m.manufacturer,
                "model_name": m.model_name,
                "hashrate_th": m.hashrate_th,
                "power_w": m.power_w,
                "efficiency_j_per_th": m.efficiency_j_per_th,
                "release_year": m.release_year,
                "is_custom": False,
            }
            for m in catalogue.values()
        ],
        ["model_key"],
        update_columns=[],
    )
    if _count(conn, difficulty_epochs) == 0:
        store_epochs(conn, load_packaged_epochs())
    if _count(conn, halvings) == 0:
        upsert(
            conn,
            halvings,
            [
                {
                    "height": h.height,
                    "time_utc": h.time_utc,
                    "subsidy_after_btc": h.subsidy_after_btc,
                    "status": h.status,
                }
                for h in load_packaged_halvings()
            ],
            ["height"],
        )


def load_epochs(conn: Connection) -> list[Epoch]:
    rows = conn.execute(select(difficulty_epochs).order_by(difficulty_epochs.c.epoch)).all()
    return [
        Epoch(
            epoch=r.epoch,
            start_height=r.start_height,
            start_time_utc=_as_utc(r.start_time_utc),
            start_time_source=r.start_time_source,
            difficulty=r.difficulty,
        )
        for r in rows
    ]


def load_timeline(conn: Connection) -> NetworkTimeline:
    halving_rows = conn.execute(select(halvings).order_by(halvings.c.height)).all()
    return NetworkTimeline(
        load_epochs(conn),
        [
            Halving(
                height=r.height,
                time_utc=_as_utc(r.time_utc),
                subsidy_after_btc=r.subsidy_after_btc,
                status=r.status,
            )
            for r in halving_rows
        ],
    )


def load_miner_models(conn: Connection) -> dict[str, MinerModel]:
    rows = conn.execute(select(miner_models).order_by(miner_models.c.model_key)).all()
    return {
        r.model_key: MinerModel(
            key=r.model_key,
            manufacturer=r.manufacturer,
            model_name=r.model_name,
            hashrate_th=r.hashrate_th,
            power_w=r.power_w,
            efficiency_j_per_th=r.efficiency_j_per_th,
            release_year=r.release_year,
            is_custom=r.is_custom,
        )
        for r in rows
    }


def mark_refreshed(conn: Connection, source: str, detail: str = "") -> None:
    upsert(
        conn,
        source_refreshes,
        [{"source": source, "refreshed_at": datetime.now(UTC), "detail": detail}],
        ["source"],
    )


def last_refreshed(conn: Connection, source: str) -> datetime | None:
    value = conn.execute(
        select(source_refreshes.c.refreshed_at).where(source_refreshes.c.source == source)
    ).scalar_one_or_none()
    return _as_utc(value)


async def refresh_difficulty(engine: Engine, client: JsonHttpClient) -> int:
    """Merge mempool.space's difficulty adjustments into the epoch table; return epochs changed."""
    payload = await client.get_json("/v1/mining/difficulty-adjustments/all")
    adjustments = parse_mempool_adjustments(payload)
    with engine.begin() as conn:
        before = {e.epoch: e for e in load_epochs(conn)}
        merged = merge_mempool_epochs(list(before.values()), adjustments)
        changed = [e for e in merged if before.get(e.epoch) != e]
        store_epochs(conn, changed)
        mark_refreshed(conn, "difficulty", f"{len(changed)} epochs changed")
    log.info("difficulty refreshed", extra={"epochs_changed": len(changed)})
    return len(changed)


def known_models(database_url: str) -> dict[str, MinerModel]:
    """The shipped catalogue plus the database's custom models, without writing anything.

    Used to validate user input before the database is created or migrated.
    """
    catalogue = load_catalogue()
    if not_created(normalise_url(database_url)):
        return catalogue
    engine = make_engine(database_url)
    try:
        if not inspect(engine).has_table(miner_models.name):
            return catalogue
        with engine.connect() as conn:
            catalogue.update({k: m for k, m in load_miner_models(conn).items() if m.is_custom})
    finally:
        engine.dispose()
    return catalogue
