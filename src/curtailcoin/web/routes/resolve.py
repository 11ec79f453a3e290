"""Request parameters resolved against the request's snapshot: filters must name a known lead
party or BM unit, a miner model a catalogued one, and an omitted date means the latest date
with curtailment."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.settlement import settlement_today
from curtailcoin.web import params as pv
from curtailcoin.web.deps import AppContext
from curtailcoin.web.queries.reference import (
    data_range,
    farm_exists,
    lead_party_exists,
    miner_catalogue,
)
from curtailcoin.web.queries.scope import Scope, day_scope, month_scope, year_scope


def filters(
    conn: Connection, lead_party: str | None, farm_id: str | None
) -> tuple[str | None, str | None]:
    lead = pv.check_name(lead_party, ("query", "leadParty"))
    farm = pv.check_name(farm_id, ("query", "farmId"), 64)
    if lead is not None and not lead_party_exists(conn, lead):
        raise pv.InputError(
            ("query", "leadParty"), f"unknown leadParty {lead!r}: see /api/lead-parties"
        )
    if farm is not None and not farm_exists(conn, farm):
        raise pv.InputError(("query", "farmId"), f"unknown farmId {farm!r}: not a known BM unit")
    return lead, farm


def model(conn: Connection, ctx: AppContext, text: str | None) -> MinerModel:
    return pv.resolve_model(text, miner_catalogue(conn), ctx.default_model, ("query", "minerModel"))


_BY_LENGTH: dict[int, pv.Timeframe] = {10: "day", 7: "month", 4: "year"}
"""The timeframe a value's length implies when none is given."""


def _latest_day(conn: Connection) -> date:
    rng = data_range(conn)
    return rng.last_date_with_curtailment or rng.last_date or settlement_today()


def fixed_scope(
    timeframe: pv.Timeframe,
    value_text: str,
    loc: tuple[str, str],
    lead: str | None,
    farm: str | None,
) -> Scope:
    """The scope of a value whose timeframe the route fixes (a path's date, month or year)."""
    if timeframe == "day":
        return day_scope(pv.parse_day(value_text, loc), lead, farm)
    if timeframe == "month":
        year, month = pv.parse_month(value_text, loc)
        return month_scope(year, month, lead, farm)
    return year_scope(pv.parse_year(value_text, loc), lead, farm)


def scope(
    conn: Connection,
    timeframe_text: str | None,
    value_text: str | None,
    names: tuple[str, str],
    lead: str | None,
    farm: str | None,
) -> Scope:
    """A scope from a timeframe and a value (either may be omitted)."""
    tf_loc = ("query", names[0])
    value_loc = ("query", names[1])
    timeframe = pv.parse_timeframe(timeframe_text, tf_loc) if timeframe_text else None
    if value_text is None:
        latest = _latest_day(conn)
        timeframe = timeframe or "day"
        value_text = {
            "day": latest.isoformat(),
            "month": latest.isoformat()[:7],
            "year": latest.isoformat()[:4],
        }[timeframe]
    if timeframe is None:
        timeframe = _BY_LENGTH.get(len(value_text), "day")
    return fixed_scope(timeframe, value_text, value_loc, lead, farm)
