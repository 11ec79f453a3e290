"""Helpers of the reconciliation tests: the CLI, table snapshots, loading dates in-process."""

from __future__ import annotations

import asyncio
import math
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, select

from curtailcoin.config import get_settings
from curtailcoin.db.curtailment_tables import (
    bid_stack_lines,
    curtailment_records,
    historical_bitcoin_calculations,
    settlement_periods,
)
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.reconcile.commands import process_date_range
from curtailcoin.reconcile.outcome import RunSummary
from support.entrypoint import CURTAILCOIN

EXE = CURTAILCOIN
MODELS = ["S19J_PRO", "S9", "M20S", "S21"]

#: Columns that change on every write (ids, fetch and calculation times).
VOLATILE = {"id", "fetched_at", "calculated_at", "updated_at"}
TABLES: tuple[Table, ...] = (
    settlement_periods,
    bid_stack_lines,
    curtailment_records,
    historical_bitcoin_calculations,
    daily_summaries,
    monthly_summaries,
    yearly_summaries,
    bitcoin_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
)


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    assert EXE, "the curtailcoin entry point is not installed (pip install -e .)"
    return subprocess.run(
        [EXE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def popen(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    assert EXE
    return subprocess.Popen(
        [EXE, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _norm(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9) + 0.0 if math.isfinite(value) else value
    if isinstance(value, datetime):  # SQLite gives naive UTC, PostgreSQL aware
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(engine: Engine, *, volatile: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every reconciled table's rows, sorted; without the volatile columns unless asked."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            columns = [c for c in table.c if volatile or c.name not in VOLATILE]
            rows = conn.execute(select(*columns)).all()
            out[table.name] = sorted((tuple(_norm(v) for v in row) for row in rows), key=repr)
    return out


def count(engine: Engine, table: Table, **where: Any) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for name, value in where.items():
            query = query.where(table.c[name] == value)
        return int(conn.execute(query).scalar_one())


def load(engine: Engine, first: date, last: date) -> RunSummary:
    """Ingest dates in-process, as ``reconcile range --no-source`` would (fast setup)."""
    get_settings.cache_clear()
    summary = asyncio.run(
        process_date_range(engine, get_settings(), first, last, source=False, resume=False)
    )
    assert not summary.failed, summary.failed
    return summary


def period_totals(engine: Engine, day: date) -> dict[int, tuple[int, float, float]]:
    r = curtailment_records.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                r.settlement_period, func.count(), -func.sum(r.volume_mwh), func.sum(r.payment_gbp)
            )
            .where(r.settlement_date == day)
            .group_by(r.settlement_period)
        ).all()
    return {int(p): (int(n), float(e), float(g)) for p, n, e, g in rows}


def checkpoint_path(env: dict[str, str], name: str) -> Path:
    return Path(env["CURTAILCOIN_CHECKPOINT_DIR"]) / name
