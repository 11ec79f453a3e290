"""The one planner: which stored level answers a scope at a grain, and its rows' filters.

Each level is exact for what it is asked: the all-BM-unit summaries carry no lead party or BM
unit, the per-farm-month roll-ups no lead party (a lead party is a property of a BM unit's
date), and only the records (and the calculations, per period) carry settlement periods. So:

* without a filter, totals of the scope, by day or by month come from the summaries
  (``daily`` / ``monthly`` / ``yearly_summaries``; for a computed model's BTC each period's
  stored total in ``settlement_periods``);
* a day, or any scope by settlement period, reads the records (and the calculations);
* per BM unit without a lead-party filter, a month or a year reads the farm-month roll-ups;
* everything else of a month or a year reads the farm-day summaries.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import and_
from sqlalchemy.sql import ColumnElement

from curtailcoin.db.curtailment_tables import curtailment_records
from curtailcoin.db.summary_tables import farm_daily_summaries
from curtailcoin.settlement import year_month
from curtailcoin.web.queries.scope import Scope

Grain = Literal["scope", "day", "month", "period", "farm"]

r = curtailment_records.c
fd = farm_daily_summaries.c


class Level(StrEnum):
    """A stored level of the curtailment (and Bitcoin) figures, coarsest first."""

    SUMMARY = "summary"  # all BM units: daily / monthly / yearly summaries, period totals
    FARM_MONTH = "farm_month"  # farm_monthly_summaries, bitcoin_farm_monthly_summaries
    FARM_DAY = "farm_day"  # farm_daily_summaries, bitcoin_farm_daily_summaries
    RECORDS = "records"  # curtailment_records, historical_bitcoin_calculations


def level(scope: Scope, grain: Grain) -> Level:
    """The coarsest stored level that answers ``scope`` grouped by ``grain`` (see module doc)."""
    if not scope.filtered and grain in ("scope", "day", "month"):
        return Level.SUMMARY
    if scope.timeframe == "day" or grain == "period":
        return Level.RECORDS
    if grain == "farm" and scope.lead_party is None:
        return Level.FARM_MONTH
    return Level.FARM_DAY


def record_filter(scope: Scope) -> ColumnElement[bool]:
    """The scope's rows of ``curtailment_records``."""
    cond = and_(r.settlement_date >= scope.start, r.settlement_date < scope.end)
    if scope.lead_party is not None:
        cond = and_(cond, r.lead_party_name == scope.lead_party)
    if scope.farm_id is not None:
        cond = and_(cond, r.farm_id == scope.farm_id)
    return cond


def farm_day_filter(scope: Scope) -> ColumnElement[bool]:
    """The scope's rows of ``farm_daily_summaries``."""
    cond = and_(fd.summary_date >= scope.start, fd.summary_date < scope.end)
    if scope.lead_party is not None:
        cond = and_(cond, fd.lead_party_name == scope.lead_party)
    if scope.farm_id is not None:
        cond = and_(cond, fd.farm_id == scope.farm_id)
    return cond


def farm_month_filter(table: Any, scope: Scope) -> ColumnElement[bool]:
    """The scope's rows of a farm-month table (no lead party: see :func:`level`)."""
    cond = and_(
        table.year_month >= year_month(scope.start), table.year_month < year_month(scope.end)
    )
    if scope.farm_id is not None:
        cond = and_(cond, table.farm_id == scope.farm_id)
    return cond
