"""The site scenario as an export table: its columns, each row's cells and why a figure is missing.

The columns are the scenario's roll-up fields (:class:`~curtailcoin.economics.results.Rollup`:
``available_mwh``, ``used_mwh``, ``btc``, ``revenue_gbp`` …, the names ``curtailcoin scenario
--csv`` heads its columns with), after the row's key split into typed columns (a period row's
``settlement_date`` and ``settlement_period``, a day's ``date``, a ``month`` or a ``year``), and a
``missing_reason`` naming each figure of the row that is missing or counts only part of the row.
The scenario is read and evaluated once (``economics.scenario.evaluate_scenario``); its rows are
made one at a time as the writer consumes them, so a period export holds the model's per-period
figures, never every period's row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import islice
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from curtailcoin.economics.results import Level, Rollup
from curtailcoin.tabular import Field

if TYPE_CHECKING:
    from curtailcoin.economics.scenario import EvaluatedScenario, ScenarioRequest
    from curtailcoin.exports.tables import ExportRequest, Filter

FIGURES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Rollup) if f.name != "key")
"""The roll-up's figures in its field order (each name carries its unit)."""

KEYS: dict[Level, tuple[Field, ...]] = {
    "period": (Field("settlement_date", "date"), Field("settlement_period", "int")),
    "day": (Field("date", "date"),),
    "month": (Field("month", "text"),),
    "year": (Field("year", "text"),),
}
REASON = Field("missing_reason", "text")


def scenario_fields(level: Level) -> list[Field]:
    """The columns of a scenario table at ``level``."""
    return [*KEYS[level], *(Field(name, "float") for name in FIGURES), REASON]


def _key_cells(level: Level, key: str) -> tuple[Any, ...]:
    if level == "period":
        day, _, period = key.partition("/")
        return date.fromisoformat(day), int(period)
    if level == "day":
        return (date.fromisoformat(key),)
    return (key,)


def missing_reason(row: Rollup) -> str | None:
    """Why a figure of ``row`` is missing (None) or counts only part of the row; None if none."""
    reasons = []
    if row.pending_mwh > 0:
        reasons.append("difficulty pending: no BTC for pending_mwh")
    if row.no_fee_data_mwh > 0:
        reasons.append("no fee data (fees=actual): no BTC for no_fee_data_mwh")
    if row.btc is not None and (row.revenue_gbp is None or row.unpriced_btc > 0):
        part = "revenue_gbp and margin_gbp missing" if row.revenue_gbp is None else "unpriced_btc"
        reasons.append(f"no BTC/GBP price for the date: {part} not valued")
    if row.btc is not None and row.revenue_at_latest_price_gbp is None:
        reasons.append("no stored BTC/GBP price: revenue_at_latest_price_gbp missing")
    return "; ".join(reasons) or None


SIZING_VALUES = ("revenue_gbp", "revenue_per_mw_gbp", "margin_gbp")
"""A sizing point's £ figures: counted from priced BTC only."""


def sizing_reason(total: Rollup) -> tuple[str | None, bool]:
    """Why a sweep's figures miss part of the range, from one size's total (every size runs in
    the same periods: those with curtailment), and whether none of its BTC has a price (its £
    figures are then missing, never 0)."""
    reasons = []
    if total.pending_mwh > 0:
        reasons.append("difficulty pending in some periods: their BTC is not counted")
    if total.no_fee_data_mwh > 0:
        reasons.append("no fee data (fees=actual) in some periods: their BTC is not counted")
    unvalued = total.btc is not None and total.btc > 0 and total.revenue_gbp is None
    if unvalued:
        reasons.append(f"no BTC/GBP price for the range: {', '.join(SIZING_VALUES)} missing")
    elif total.unpriced_btc > 0:
        reasons.append(
            f"no BTC/GBP price on some dates: {', '.join(SIZING_VALUES)} count priced BTC only"
        )
    return "; ".join(reasons) or None, unvalued


def scenario_row(level: Level, row: Rollup) -> tuple[Any, ...]:
    """A roll-up as the cells of :func:`scenario_fields` (missing figures stay None)."""
    figures = tuple(getattr(row, name) for name in FIGURES)
    return (*_key_cells(level, row.key), *figures, missing_reason(row))


def _chunks(evaluated: EvaluatedScenario, size: int) -> Iterator[Sequence[tuple[Any, ...]]]:
    level = evaluated.request.level
    rows = evaluated.rows()
    while chunk := [scenario_row(level, r) for r in islice(rows, size)]:
        yield chunk


@dataclass(frozen=True)
class ScenarioTable:
    """``export scenario``: the request's ``scenario`` (site, fleet, assumptions, grain) over
    the request's range; it takes none of the stored tables' filters."""

    filters: frozenset[Filter] = frozenset()

    def fields(self, request: ExportRequest) -> list[Field]:
        return scenario_fields(self._scenario(request).level)

    def chunks(
        self, conn: Connection, request: ExportRequest, size: int
    ) -> Iterator[Sequence[tuple[Any, ...]]]:
        """Checks and evaluates the scenario now (``BadInput`` before any file is written),
        then makes its rows ``size`` at a time."""
        from curtailcoin.economics.scenario import evaluate_scenario

        scenario = replace(self._scenario(request), start=request.start, end=request.end)
        return _chunks(evaluate_scenario(conn, scenario), size)

    @staticmethod
    def _scenario(request: ExportRequest) -> ScenarioRequest:
        if request.scenario is None:
            raise ValueError("the scenario export needs a scenario (site, fleet, assumptions)")
        return request.scenario
