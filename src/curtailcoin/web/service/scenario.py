"""The site-economics answers of the API: the typed results of ``economics.scenario`` as response
models, each partial or null figure with its reason, and the CSV / Parquet table columns.

The numbers are the economics package's own (``run_scenario`` and ``run_sizing``, the CLI's
calls); this module only names what is missing — dates without a stored BTC/GBP price (with
the reason the last price update left), periods whose difficulty is pending, periods without
fee data — never fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Connection

from curtailcoin.economics.results import Rollup, ScenarioResult, SizingResult, to_json
from curtailcoin.farm_months import PRICE_CURRENCY
from curtailcoin.prices import missing_reason, stored_prices, update_failures
from curtailcoin.web.csvout import Column
from curtailcoin.web.scenario_schemas import (
    DurationPointOut,
    Grain,
    RollupOut,
    ScenarioOut,
    SizePointOut,
    SizingOut,
)


@dataclass(frozen=True)
class UnpricedDates:
    """The range's dates without a stored BTC/GBP price (none when a constant price is used)."""

    dates: list[date]
    failures: dict[str, str]

    @classmethod
    def read(cls, conn: Connection, start: date, end: date, constant: bool) -> UnpricedDates:
        if constant:
            return cls([], {})
        stored = stored_prices(conn, start, end, (PRICE_CURRENCY,))
        days = (start + timedelta(days=i) for i in range((end - start).days + 1))
        missing = [d for d in days if (d, PRICE_CURRENCY) not in stored]
        return cls(missing, update_failures(conn) if missing else {})

    def within(self, key: str) -> list[date]:
        """The unpriced dates of a row: its key is a date, a month, a year or 'total'."""
        if key == "total":
            return self.dates
        return [d for d in self.dates if d.isoformat().startswith(key)]

    def reason(self, dates: Sequence[date]) -> str:
        first = missing_reason(PRICE_CURRENCY, dates[0], self.failures)
        more = f" (and {len(dates) - 1} more dates)" if len(dates) > 1 else ""
        return first + more


def _row_reason(row: Rollup, unpriced: UnpricedDates, latest_known: bool) -> str | None:
    parts: list[str] = []
    if row.pending_mwh:
        parts.append(f"BTC of {row.pending_mwh:,.3f} MWh missing: network difficulty pending")
    if row.no_fee_data_mwh:
        parts.append(f"BTC of {row.no_fee_data_mwh:,.3f} MWh missing: no fee data (fees=actual)")
    if row.unpriced_btc:
        dates = unpriced.within(row.key)
        where = unpriced.reason(dates) if dates else "no stored BTC/GBP price"
        parts.append(f"{row.unpriced_btc:.8f} BTC not valued: {where}")
    if not latest_known and row.btc:
        parts.append("no BTC/GBP price stored at all: no value at the latest price")
    return "; ".join(parts) or None


def _rollup(row: Rollup, unpriced: UnpricedDates, latest_known: bool) -> RollupOut:
    out = RollupOut.model_validate(to_json(row))
    out.missing_reason = _row_reason(row, unpriced, latest_known)
    return out


def scenario_out(result: ScenarioResult, grain: Grain, unpriced: UnpricedDates) -> ScenarioOut:
    """The response of ``GET /api/scenario`` (``grain=total``: no rows)."""
    latest = result.price.latest_gbp_per_btc is not None
    data = to_json(result)
    data.pop("level")
    data["rows"] = [] if grain == "total" else [_rollup(r, unpriced, latest) for r in result.rows]
    data["total"] = _rollup(result.total, unpriced, latest)
    return ScenarioOut.model_validate({**data, "grain": grain})


def sizing_out(result: SizingResult, unpriced: UnpricedDates) -> SizingOut:
    """The response of ``GET /api/scenario/sizing``: revenue counts priced BTC only (said)."""
    out = SizingOut.model_validate(to_json(result))
    parts: list[str] = []
    if unpriced.dates:
        parts.append("revenue counts priced BTC only: " + unpriced.reason(unpriced.dates))
    out.missing_reason = "; ".join(parts) or None
    return out


# --- table downloads (?format=csv|parquet) ---------------------------------------------------

KEY_HEADERS: dict[Grain, tuple[str, str]] = {
    "day": ("date", "date"),
    "month": ("month", "text"),
    "year": ("year", "text"),
    "total": ("key", "text"),
}


def rollup_columns(grain: Grain) -> list[Column[RollupOut]]:
    header, kind = KEY_HEADERS[grain]
    return [
        Column(header, lambda r: date.fromisoformat(r.key) if kind == "date" else r.key, kind),  # type: ignore[arg-type]
        Column("available_mwh", lambda r: r.available_mwh, "float"),
        Column("used_mwh", lambda r: r.used_mwh, "float"),
        Column("spilled_mwh", lambda r: r.spilled_mwh, "float"),
        Column("capacity_mwh", lambda r: r.capacity_mwh, "float"),
        Column("utilisation", lambda r: r.utilisation, "float"),
        Column("hours_run_h", lambda r: r.hours_run_h, "float"),
        Column("full_load_hours_h", lambda r: r.full_load_hours_h, "float"),
        Column("btc", lambda r: r.btc, "float"),
        Column("pending_mwh", lambda r: r.pending_mwh, "float"),
        Column("no_fee_data_mwh", lambda r: r.no_fee_data_mwh, "float"),
        Column("revenue_gbp", lambda r: r.revenue_gbp, "float"),
        Column("unpriced_btc", lambda r: r.unpriced_btc, "float"),
        Column("revenue_at_latest_price_gbp", lambda r: r.revenue_at_latest_price_gbp, "float"),
        Column("energy_cost_gbp", lambda r: r.energy_cost_gbp, "float"),
        Column("opex_gbp", lambda r: r.opex_gbp, "float"),
        Column("margin_gbp", lambda r: r.margin_gbp, "float"),
        Column("missing_reason", lambda r: r.missing_reason, "text"),
    ]


SIZE_COLUMNS: list[Column[SizePointOut]] = [
    Column("size_mw", lambda p: p.size_mw, "float"),
    Column("miners", lambda p: p.miners, "int"),
    Column("capacity_mw", lambda p: p.capacity_mw, "float"),
    Column("btc", lambda p: p.btc, "float"),
    Column("used_mwh", lambda p: p.used_mwh, "float"),
    Column("utilisation", lambda p: p.utilisation, "float"),
    Column("revenue_gbp", lambda p: p.revenue_gbp, "float"),
    Column("revenue_per_mw_gbp", lambda p: p.revenue_per_mw_gbp, "float"),
    Column("capex_gbp", lambda p: p.capex_gbp, "float"),
    Column("margin_gbp", lambda p: p.margin_gbp, "float"),
    Column("payback_months", lambda p: p.payback_months, "int"),
]

DURATION_COLUMNS: list[Column[DurationPointOut]] = [
    Column("mw", lambda p: p.mw, "float"),
    Column("hours_h", lambda p: p.hours, "float"),
    Column("hours_per_year_h", lambda p: p.hours_per_year, "float"),
]
