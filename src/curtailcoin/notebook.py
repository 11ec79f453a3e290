"""The notebook API: ``curtailcoin.open(url)`` and pandas DataFrames of a database's figures.

An analyst's way in without SQL (``pip install "curtailcoin[analysis]"``, docs/notebooks.md).
Every method reads at one snapshot and reuses the queries of the exports and of the API, so a
DataFrame shows the figures ``export`` writes and the API serves: a tracked model's stored BTC,
any other model's computed with the one formula (``mining.btc_sql``). Column names carry their
units as in the field registry (``curtailed_energy_mwh``, ``payment_gbp``, ``bitcoin_mined_btc``);
dates are ``datetime64`` columns, missing figures NaN (never 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Engine, select

from curtailcoin.config import get_settings
from curtailcoin.db.engine import get_engine, read_snapshot
from curtailcoin.db.summary_tables import farm_monthly_summaries
from curtailcoin.economics.inputs import Assumptions
from curtailcoin.economics.results import Level, to_json
from curtailcoin.economics.scenario import (
    LEVELS,
    ScenarioRequest,
    SizingRequest,
    evaluate_scenario,
    run_duration_curve,
    run_sizing,
)
from curtailcoin.economics.site import Site, site_of
from curtailcoin.exports.scenario import (
    SIZING_VALUES,
    missing_reason,
    scenario_fields,
    scenario_row,
    sizing_reason,
)
from curtailcoin.exports.tables import TABLES, ExportRequest
from curtailcoin.miners import MinerModel
from curtailcoin.parquet import record_batch, schema
from curtailcoin.prices import stored_prices
from curtailcoin.settlement import FIRST_SETTLEMENT_DATE, settlement_today, year_month
from curtailcoin.tabular import Field
from curtailcoin.web.queries.bitcoin import btc_rows
from curtailcoin.web.queries.reference import miner_catalogue
from curtailcoin.web.queries.scope import Scope

By = Literal["day", "month", "year"]
DateLike = date | str
CHUNK_ROWS = 50_000

_SUMMARY_TABLE: dict[By, str] = {"day": "daily", "month": "monthly", "year": "yearly"}
_KEY: dict[By, str] = {"day": "date", "month": "month", "year": "year"}


def _day(value: DateLike, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not a date: use YYYY-MM-DD") from None


def _by(value: str) -> By:
    if value not in _KEY:
        raise ValueError(f"by={value!r}: allowed day, month, year")
    return value


def _level(value: str) -> Level:
    for level in LEVELS:
        if value == level:
            return level
    raise ValueError(f"grain={value!r}: allowed {', '.join(LEVELS)}")


def _site(bm_units: str | Sequence[str], lead_party: str | None, all_wind: bool) -> Site:
    """The site: BM unit(s), a lead party or all wind (``BadInput``, a ``ValueError``)."""
    return site_of([bm_units] if isinstance(bm_units, str) else bm_units, lead_party, all_wind)


def _assumptions(given: dict[str, Any]) -> Assumptions:
    """``Assumptions`` from keywords, an unknown one named with the allowed."""
    allowed = list(Assumptions.__dataclass_fields__)
    for name in given:
        if name not in allowed:
            raise ValueError(f"unknown assumption {name!r}: allowed {', '.join(allowed)}")
    return Assumptions(**given)


def _frame(fields: Sequence[Field], chunks: Any) -> pd.DataFrame:
    """A DataFrame of typed chunks (Arrow in between: dates stay dates, missing stays NaN)."""
    batches = [record_batch(fields, chunk) for chunk in chunks]
    table = pa.Table.from_batches(batches, schema=schema(fields))
    return table.to_pandas(date_as_object=False)


class Database:
    """A CurtailCoin database opened for reading into DataFrames (see :func:`curtailcoin.open`)."""

    def __init__(self, url: str, tracked_models: Sequence[str] | None = None) -> None:
        """``tracked_models``: the models with stored calculations (default: the settings')."""
        self.url = url
        if tracked_models is None:
            tracked_models = get_settings().tracked_models
        self.tracked_models = tuple(tracked_models)
        self.engine: Engine = get_engine(url)

    def __repr__(self) -> str:
        return f"curtailcoin.open({self.engine.url.render_as_string(hide_password=True)!r})"

    def _export(self, table: str, request: ExportRequest) -> pd.DataFrame:
        source = TABLES[table]
        with read_snapshot(self.engine) as conn:
            return _frame(source.fields(request), source.chunks(conn, request, CHUNK_ROWS))

    @staticmethod
    def _range(start: DateLike, end: DateLike) -> tuple[date, date]:
        first, last = _day(start, "start"), _day(end, "end")
        if last < first:
            raise ValueError(f"end {last} is before start {first}")
        return first, last

    def records(
        self,
        start: DateLike,
        end: DateLike,
        lead_party: str | None = None,
        bm_unit: str | None = None,
    ) -> pd.DataFrame:
        """Curtailment records of ``start..end`` (inclusive), one row per SO-flagged wind bid."""
        first, last = self._range(start, end)
        return self._export("records", ExportRequest(first, last, lead_party, bm_unit))

    def summaries(
        self,
        by: By = "day",
        start: DateLike | None = None,
        end: DateLike | None = None,
        farm: bool = False,
    ) -> pd.DataFrame:
        """Curtailed energy, payments and counts by day, month or year (``farm``: per BM unit);
        ``start`` / ``end`` default to the first settlement date and today."""
        first, last = self._range(
            start if start is not None else FIRST_SETTLEMENT_DATE,
            end if end is not None else settlement_today(),
        )
        by = _by(by)
        if not farm:
            return self._export(_SUMMARY_TABLE[by], ExportRequest(first, last))
        if by == "day":
            return self._export("farms", ExportRequest(first, last))
        months = self._farm_months(first, last)
        if by == "month":
            return months
        months.insert(0, "year", months.pop("month").str[:4])
        keys = ["year", "bm_unit"]
        sums = months.groupby(keys, as_index=False, sort=True)[
            ["curtailed_energy_mwh", "payment_gbp", "record_count"]
        ].sum()
        leads = months.groupby(keys, as_index=False, sort=True)["lead_party"].min()
        return sums.merge(leads, on=keys)[
            ["year", "bm_unit", "lead_party", "curtailed_energy_mwh", "payment_gbp", "record_count"]
        ]

    def _farm_months(self, first: date, last: date) -> pd.DataFrame:
        fm = farm_monthly_summaries.c
        fields = [
            Field("month", "text"),
            *TABLES["farms"].fields(ExportRequest(first, last))[1:6],
        ]
        query = (
            select(
                fm.year_month,
                fm.farm_id,
                fm.lead_party_name,
                fm.curtailed_energy_mwh,
                fm.payment_gbp,
                fm.record_count,
            )
            .where(fm.year_month >= year_month(first), fm.year_month <= year_month(last))
            .order_by(fm.year_month, fm.farm_id)
        )
        with read_snapshot(self.engine) as conn:
            rows = [tuple(row) for row in conn.execute(query)]
        return _frame(fields, [rows])

    def mining_potential(
        self,
        model: str | MinerModel,
        start: DateLike,
        end: DateLike,
        by: By = "day",
        lead_party: str | None = None,
        bm_unit: str | None = None,
    ) -> pd.DataFrame:
        """BTC the curtailed energy could have mined with ``model`` (a catalogue or user model's
        key, or a :class:`~curtailcoin.miners.MinerModel`), by day, month or year; its value at
        each date's GBP price (NaN when a needed price is missing)."""
        first, last = self._range(start, end)
        by = _by(by)
        with read_snapshot(self.engine) as conn:
            chosen = self._model(conn, model)
            tracked = chosen.key in self.tracked_models and not isinstance(model, MinerModel)
            # any range: the planner only tells a day from longer scopes
            end_excl = last + timedelta(days=1)
            scope = Scope("month", f"{first}..{last}", first, end_excl, lead_party, bm_unit)
            days = btc_rows(conn, scope, chosen, tracked, "day")
            prices = stored_prices(conn, first, last, ("GBP",))
        rows = []
        for day in sorted(days):
            btc = days[day]
            price = prices.get((day, "GBP"))
            value = btc.btc * price.price if price is not None else (0.0 if btc.btc == 0 else None)
            rows.append((day, chosen.key, btc.btc, btc.covered_mwh, value))
        frame = pd.DataFrame(
            rows,
            columns=["date", "miner_model", "bitcoin_mined_btc", "bitcoin_energy_mwh", "value_gbp"],
        ).astype({"value_gbp": "float64"})
        frame["date"] = pd.to_datetime(frame["date"])
        if by == "day":
            return frame
        key = _KEY[by]
        width = 7 if by == "month" else 4
        frame.insert(0, key, frame.pop("date").dt.strftime("%Y-%m-%d").str[:width])
        grouped = frame.groupby([key, "miner_model"], as_index=False, sort=True)
        out = grouped[["bitcoin_mined_btc", "bitcoin_energy_mwh"]].agg(math.fsum)
        out["value_gbp"] = grouped["value_gbp"].agg(
            lambda v: math.fsum(v) if v.notna().all() else math.nan
        )["value_gbp"]
        return out

    def _model(self, conn: Connection, model: str | MinerModel) -> MinerModel:
        if isinstance(model, MinerModel):
            return model
        catalogue = miner_catalogue(conn)
        if model not in catalogue:
            raise ValueError(f"unknown model {model!r}: allowed {', '.join(sorted(catalogue))}")
        return catalogue[model]

    def scenario(
        self,
        model: str,
        start: DateLike,
        end: DateLike,
        *,
        miners: int | None = None,
        mw: float | None = None,
        bm_units: str | Sequence[str] = (),
        lead_party: str | None = None,
        all_wind: bool = False,
        grain: str = "day",
        **assumptions: Any,
    ) -> pd.DataFrame:
        """The site scenario (``economics``, docs/economics.md): a fleet of ``miners`` (or
        ``mw`` MW) of ``model`` at a site (``bm_units``, a ``lead_party`` or ``all_wind``), run
        only when it was curtailed; one row per ``grain`` (period, day, month, year) with the
        columns of ``curtailcoin export scenario`` and a ``missing_reason``. ``assumptions``:
        keywords of :class:`~curtailcoin.economics.inputs.Assumptions` (``uptime_pct``,
        ``capex_gbp_per_miner`` …). ``frame.attrs``: ``total`` (the whole range, the same
        columns), ``payback``, ``fleet``, ``price``, ``assumptions``, ``site``."""
        first, last = self._range(start, end)
        level = _level(grain)
        request = ScenarioRequest(
            _site(bm_units, lead_party, all_wind),
            model,
            first,
            last,
            miners,
            mw,
            _assumptions(assumptions),
            level,
        )
        with read_snapshot(self.engine) as conn:
            result = evaluate_scenario(conn, request).result()
        frame = _frame(scenario_fields(level), [[scenario_row(level, r) for r in result.rows]])
        total = to_json(result.total)
        total.pop("key")
        total["missing_reason"] = missing_reason(result.total)
        frame.attrs.update(
            total=total,
            payback=to_json(result.payback),
            fleet=to_json(result.fleet),
            price=to_json(result.price),
            assumptions=to_json(result.assumptions),
            site=result.site,
        )
        return frame

    def sizing(
        self,
        model: str,
        start: DateLike,
        end: DateLike,
        sizes_mw: Sequence[float],
        *,
        bm_units: str | Sequence[str] = (),
        lead_party: str | None = None,
        all_wind: bool = False,
        **assumptions: Any,
    ) -> pd.DataFrame:
        """The scenario over each fleet size of ``sizes_mw`` (MW): one row per size (``size_mw``,
        ``miners``, ``btc``, ``utilisation``, ``revenue_gbp``, ``revenue_per_mw_gbp``,
        ``margin_gbp``, ``payback_months`` …) and a ``missing_reason``; £ figures NaN when no
        BTC of the range has a price. ``frame.attrs``: ``best`` (the size with the shortest
        payback, or None) and ``best_reason``."""
        first, last = self._range(start, end)
        site, a = _site(bm_units, lead_party, all_wind), _assumptions(assumptions)
        with read_snapshot(self.engine) as conn:
            result = run_sizing(conn, SizingRequest(site, model, first, last, list(sizes_mw), a))
            # every size runs in the same periods: one size's total says what is missing
            probe = ScenarioRequest(site, model, first, last, None, sizes_mw[0], a, "year")
            reason, unvalued = sizing_reason(evaluate_scenario(conn, probe).maker.total())
        frame = pd.DataFrame([to_json(p) for p in result.sizes]).astype({"payback_months": "Int64"})
        if unvalued:
            frame[list(SIZING_VALUES)] = math.nan
        frame["missing_reason"] = reason
        frame.attrs.update(
            best=None if result.best is None else to_json(result.best),
            best_reason=result.best_reason,
        )
        return frame

    def duration_curve(
        self,
        start: DateLike,
        end: DateLike,
        *,
        bm_units: str | Sequence[str] = (),
        lead_party: str | None = None,
        all_wind: bool = False,
        thresholds_mw: Sequence[float] | None = None,
    ) -> pd.DataFrame:
        """The site's curtailment duration curve: per threshold ``mw``, the ``hours`` (over the
        range) and ``hours_per_year`` with at least that many MW curtailed (default: 50
        thresholds up to the site's largest)."""
        first, last = self._range(start, end)
        site = _site(bm_units, lead_party, all_wind)
        with read_snapshot(self.engine) as conn:
            result = run_duration_curve(
                conn, site, first, last, None if thresholds_mw is None else list(thresholds_mw)
            )
        return pd.DataFrame(
            [to_json(p) for p in result.duration_curve], columns=["mw", "hours", "hours_per_year"]
        )

    def prices(self, start: DateLike, end: DateLike) -> pd.DataFrame:
        """The stored daily price of 1 BTC in GBP and in USD (a date's UTC close; NaN if none)."""
        first, last = self._range(start, end)
        with read_snapshot(self.engine) as conn:
            stored = stored_prices(conn, first, last)
        days = sorted({day for day, _ in stored})
        return pd.DataFrame(
            {
                "date": pd.to_datetime(days),
                "btc_price_gbp": [_price(stored, d, "GBP") for d in days],
                "btc_price_usd": [_price(stored, d, "USD") for d in days],
            }
        )


def _price(stored: dict[tuple[date, str], Any], day: date, currency: str) -> float:
    price = stored.get((day, currency))
    return float(price.price) if price is not None else math.nan
