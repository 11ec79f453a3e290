"""Reference lists behind the filters: miner models, lead parties, BM units, the data range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, literal_column, select

from curtailcoin.coverage import SUCCESSFUL_STATUSES
from curtailcoin.db.curtailment_tables import curtailment_records, settlement_periods
from curtailcoin.db.reference_tables import bm_units, miner_models
from curtailcoin.db.summary_tables import daily_summaries
from curtailcoin.miners import MinerModel, load_catalogue

r = curtailment_records.c
sp = settlement_periods.c


def miner_catalogue(conn: Connection) -> dict[str, MinerModel]:
    """Every model in ``miner_models`` (user models included); the packaged list if empty."""
    rows = conn.execute(select(miner_models).order_by(miner_models.c.model_key)).all()
    if not rows:
        return load_catalogue()
    return {
        row.model_key: MinerModel(
            key=row.model_key,
            manufacturer=row.manufacturer,
            model_name=row.model_name,
            hashrate_th=row.hashrate_th,
            power_w=row.power_w,
            efficiency_j_per_th=row.efficiency_j_per_th,
            release_year=row.release_year,
            is_custom=bool(row.is_custom),
        )
        for row in rows
    }


def lead_parties(conn: Connection) -> list[str]:
    """Distinct lead parties of the curtailment records, sorted (a loose index scan)."""
    name: Any = literal_column("name")
    first = select(func.min(r.lead_party_name).label("name")).cte("lp", recursive=True)
    following = select(
        select(func.min(r.lead_party_name))
        .where(r.lead_party_name > first.c.name)
        .scalar_subquery()
        .label("name")
    ).where(first.c.name.is_not(None))
    lp = first.union_all(following)
    rows = conn.execute(select(lp.c.name).where(lp.c.name.is_not(None)).order_by(name)).scalars()
    return list(rows)


def lead_parties_on(conn: Connection, day: date) -> list[str]:
    rows = conn.execute(
        select(r.lead_party_name)
        .where(r.settlement_date == day, r.lead_party_name.is_not(None))
        .group_by(r.lead_party_name)
        .order_by(r.lead_party_name)
    ).scalars()
    return list(rows)


def lead_party_exists(conn: Connection, name: str) -> bool:
    found = conn.execute(
        select(r.lead_party_name).where(r.lead_party_name == name).limit(1)
    ).first()
    if found is not None:
        return True
    return (
        conn.execute(
            select(bm_units.c.elexon_bm_unit).where(bm_units.c.lead_party_name == name).limit(1)
        ).first()
        is not None
    )


def farm_exists(conn: Connection, farm_id: str) -> bool:
    found = conn.execute(
        select(bm_units.c.elexon_bm_unit).where(bm_units.c.elexon_bm_unit == farm_id)
    ).first()
    if found is not None:
        return True
    return conn.execute(select(r.farm_id).where(r.farm_id == farm_id).limit(1)).first() is not None


@dataclass(frozen=True)
class DataRange:
    first_date: date | None
    last_date: date | None
    last_date_with_curtailment: date | None


def data_range(conn: Connection) -> DataRange:
    first, last = conn.execute(
        select(func.min(sp.settlement_date), func.max(sp.settlement_date)).where(
            sp.fetch_status.in_(SUCCESSFUL_STATUSES)
        )
    ).one()
    d = daily_summaries.c
    last_curtailed = conn.execute(
        select(func.max(d.summary_date)).where(d.record_count > 0)
    ).scalar_one_or_none()
    return DataRange(first, last, last_curtailed)
