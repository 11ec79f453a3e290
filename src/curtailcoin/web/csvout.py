"""CSV downloads of table views (UTF-8, one header row, full-precision numbers), and the columns
of each table: a header (a quantity's from the field registry, ``db.fields``) beside the field of
the response model it shows."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from fastapi.responses import Response

from curtailcoin.db import fields as F
from curtailcoin.web.schemas import (
    DaySummaryRow,
    GroupedData,
    HourRow,
    LeadPartyFarms,
    MiningRow,
    MonthSummaryRow,
    SummaryRow,
    TopFarm,
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Row = TypeVar("Row")
S = TypeVar("S", bound=SummaryRow)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    text = str(value)
    # A text cell must never be read as a spreadsheet formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "-_.") or "export.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One CSV column: its header and the value of a row's cell."""

    header: str
    cell: Callable[[Row], Any]


def table_response(filename: str, columns: Sequence[Column[Row]], rows: Iterable[Row]) -> Response:
    return csv_response(
        filename, [c.header for c in columns], ([c.cell(r) for c in columns] for r in rows)
    )


# --- summaries -------------------------------------------------------------------------------


def _summary_columns(key: Column[S]) -> list[Column[S]]:
    return [
        key,
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.total_curtailed_energy),
        Column(F.PAYMENT.header(), lambda r: r.total_payment),
        Column(F.RECORD_COUNT.header(), lambda r: r.record_count),
        Column(F.FARM_COUNT.header(), lambda r: r.farm_count),
    ]


DAY_SUMMARY_COLUMNS = _summary_columns(Column[DaySummaryRow]("date", lambda d: d.date))
MONTH_SUMMARY_COLUMNS = _summary_columns(Column[MonthSummaryRow]("month", lambda m: m.year_month))


# --- curtailment and Bitcoin -----------------------------------------------------------------


def hour_columns(model_key: str) -> list[Column[HourRow]]:
    return [
        Column("hour_local", lambda h: h.hour),
        Column("start_utc", lambda h: h.start_utc.isoformat()),
        Column("periods", lambda h: " ".join(map(str, h.periods))),
        Column(F.CURTAILED_ENERGY.header(), lambda h: h.curtailed_energy),
        Column(F.PAYMENT.header(), lambda h: h.total_payment),
        Column(F.BITCOIN.header(model_key), lambda h: h.bitcoin_mined),
    ]


def mining_columns(key_header: str, model_key: str) -> list[Column[MiningRow]]:
    """``key_header``: ``date`` for a month's daily rows, ``month`` for a year's."""
    return [
        Column(key_header, lambda r: r.key),
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.curtailed_energy),
        Column(F.PAYMENT.header(), lambda r: r.total_payment),
        Column(F.BITCOIN.header(model_key), lambda r: r.bitcoin_mined),
        Column(F.ROW_VALUE_GBP.header(), lambda r: r.value_gbp),
    ]


# --- farms -----------------------------------------------------------------------------------

LEAD_PARTY_FARMS_COLUMNS: list[Column[LeadPartyFarms]] = [
    Column(F.LEAD_PARTY.header(), lambda g: g.name),
    Column(F.BM_UNITS.header(), lambda g: " ".join(g.farm_ids)),
    Column(F.CURTAILED_ENERGY.header(), lambda g: g.curtailed_energy),
    Column(F.PAYMENT.header(), lambda g: g.total_payment),
]


def top_farm_columns(model_key: str) -> list[Column[TopFarm]]:
    return [
        Column(F.LEAD_PARTY.header(), lambda t: t.name),
        Column(F.BM_UNITS.header(), lambda t: " ".join(t.farm_ids)),
        Column(F.CURTAILED_ENERGY.header(), lambda t: t.curtailed_energy),
        Column(F.PAYMENT.header(), lambda t: t.curtailment_payment),
        Column(F.BITCOIN.header(model_key), lambda t: t.bitcoin_mined),
        Column(F.VALUE_GBP.header(), lambda t: t.bitcoin_value),
        Column(F.VALUE_GBP_AT_LATEST_PRICE.header(), lambda t: t.bitcoin_value_at_latest_price),
    ]


@dataclass(frozen=True)
class FarmTableLine:
    """A line of the farm table's CSV: a lead party's total, or one of its BM units."""

    row_type: str
    lead_party: str
    bm_unit: str
    curtailed_energy_mwh: float
    percent_of_total: float
    payment_gbp: float
    payment_gbp_per_mwh: float | None
    btc: float
    value_gbp: float | None
    value_gbp_at_latest_price: float | None


def farm_table_lines(data: GroupedData) -> Iterator[FarmTableLine]:
    """Each lead party's line, then its BM units' lines."""
    for g in data.farms:
        yield FarmTableLine(
            "lead_party",
            g.name,
            "",
            g.total_curtailed_energy,
            g.total_percentage_of_total,
            g.total_payment,
            g.payment_per_mwh,
            g.total_potential_btc,
            g.btc_value,
            g.btc_value_at_latest_price,
        )
        for f in g.farms:
            yield FarmTableLine(
                "bm_unit",
                g.name,
                f.farm_id,
                f.curtailed_energy,
                f.percentage_of_total,
                f.payment,
                f.payment_per_mwh,
                f.potential_btc,
                f.btc_value,
                f.btc_value_at_latest_price,
            )


def farm_table_columns(model_key: str) -> list[Column[FarmTableLine]]:
    return [
        Column("row_type", lambda r: r.row_type),
        Column(F.LEAD_PARTY.header(), lambda r: r.lead_party),
        Column(F.BM_UNIT.header(), lambda r: r.bm_unit),
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.curtailed_energy_mwh),
        Column(F.PERCENT_OF_ENERGY.header(), lambda r: r.percent_of_total),
        Column(F.PAYMENT.header(), lambda r: r.payment_gbp),
        Column(F.PAYMENT_PER_MWH.header(), lambda r: r.payment_gbp_per_mwh),
        Column(F.BITCOIN.header(model_key), lambda r: r.btc),
        Column(F.VALUE_GBP.header(), lambda r: r.value_gbp),
        Column(F.VALUE_GBP_AT_LATEST_PRICE.header(), lambda r: r.value_gbp_at_latest_price),
    ]


# --- prices ----------------------------------------------------------------------------------

PRICE_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("date", lambda i: i["date"]),
    Column("currency", lambda i: i["currency"]),
    Column(F.BTC_PRICE.header(), lambda i: i["price"]),
    Column("source", lambda i: i["source"]),
]
