"""The one planner of the API's queries: which stored level answers a scope at a grain."""

from __future__ import annotations

from datetime import date

import pytest

from curtailcoin.web.queries.plan import Grain, Level, level
from curtailcoin.web.queries.scope import Scope, day_scope, month_scope, year_scope

DAY = day_scope(date(2025, 1, 17))
MONTH = month_scope(2025, 1)
YEAR = year_scope(2025)
LEAD = "A Lead Party"
FARM = "T_UNIT-1"


def _with(scope: Scope, lead: str | None = None, farm: str | None = None) -> Scope:
    return Scope(scope.timeframe, scope.label, scope.start, scope.end, lead, farm)


@pytest.mark.parametrize("scope", [DAY, MONTH, YEAR])
@pytest.mark.parametrize("grain", ["scope", "day", "month"])
def test_unfiltered_totals_come_from_the_summaries(scope: Scope, grain: Grain) -> None:
    assert level(scope, grain) is Level.SUMMARY


@pytest.mark.parametrize("scope", [DAY, MONTH, YEAR, _with(MONTH, LEAD), _with(YEAR, farm=FARM)])
def test_settlement_periods_only_in_the_records(scope: Scope) -> None:
    assert level(scope, "period") is Level.RECORDS


@pytest.mark.parametrize("grain", ["scope", "day", "month", "farm"])
@pytest.mark.parametrize("filters", [(LEAD, None), (None, FARM), (LEAD, FARM)])
def test_a_filtered_day_reads_the_records(grain: Grain, filters: tuple[str | None, ...]) -> None:
    assert level(_with(DAY, *filters), grain) is Level.RECORDS


def test_a_day_per_bm_unit_reads_the_records() -> None:
    assert level(DAY, "farm") is Level.RECORDS


@pytest.mark.parametrize("scope", [MONTH, YEAR, _with(MONTH, farm=FARM), _with(YEAR, farm=FARM)])
def test_per_bm_unit_without_a_lead_party_reads_the_farm_months(scope: Scope) -> None:
    assert level(scope, "farm") is Level.FARM_MONTH


@pytest.mark.parametrize("base", [MONTH, YEAR])
@pytest.mark.parametrize("grain", ["scope", "day", "month", "farm"])
def test_a_lead_party_reads_the_farm_days(base: Scope, grain: Grain) -> None:
    """A lead party is a property of a BM unit's date: the farm-month roll-ups do not carry it."""
    assert level(_with(base, LEAD), grain) is Level.FARM_DAY
    assert level(_with(base, LEAD, FARM), grain) is Level.FARM_DAY


@pytest.mark.parametrize("base", [MONTH, YEAR])
@pytest.mark.parametrize("grain", ["scope", "day", "month"])
def test_a_bm_unit_filter_reads_the_farm_days(base: Scope, grain: Grain) -> None:
    assert level(_with(base, farm=FARM), grain) is Level.FARM_DAY
