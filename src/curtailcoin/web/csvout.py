"""CSV and Parquet downloads of table views, and the columns of each table: a header (a
quantity's from the field registry, ``db.fields``) and its kind (``tabular``: the Parquet type)
beside the field of the response model it shows. CSV: UTF-8, one header row, full-precision
numbers; Parquet: the same columns in the same order, typed, missing as null."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from fastapi.responses import Response

from curtailcoin.db import fields as F
from curtailcoin.tabular import Field, Kind, csv_cell
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

Row = TypeVar("Row")
S = TypeVar("S", bound=SummaryRow)
TableFormat = Literal["csv", "parquet"]


def _safe(filename: str, fallback: str) -> str:
    return "".join(ch for ch in filename if ch.isalnum() or ch in "-_.") or fallback


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    safe = _safe(filename, "export.csv")
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def parquet_response(
    filename: str, fields: Sequence[Field], rows: Iterable[Sequence[Any]]
) -> Response:
    from curtailcoin.parquet import MEDIA_TYPE, parquet_bytes  # pyarrow only when asked for

    safe = _safe(filename, "export.parquet")
    return Response(
        parquet_bytes(fields, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column of a table view: its header, the value of a row's cell, its kind."""

    header: str
    cell: Callable[[Row], Any]
    kind: Kind


def table_response(
    format: TableFormat, name: str, columns: Sequence[Column[Row]], rows: Iterable[Row]
) -> Response:
    """The download ``name.csv`` or ``name.parquet`` of ``rows``."""
    cells = ([c.cell(r) for c in columns] for r in rows)
    if format == "parquet":
        fields = [Field(c.header, c.kind) for c in columns]
        return parquet_response(f"{name}.parquet", fields, cells)
    return csv_response(f"{name}.csv", [c.header for c in columns], cells)


# --- summaries -------------------------------------------------------------------------------


def _summary_columns(key: Column[S]) -> list[Column[S]]:
    return [
        key,
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.total_curtailed_energy, "float"),
        Column(F.PAYMENT.header(), lambda r: r.total_payment, "float"),
        Column(F.RECORD_COUNT.header(), lambda r: r.record_count, "int"),
        Column(F.FARM_COUNT.header(), lambda r: r.farm_count, "int"),
        Column("all_bids_curtailed_energy_mwh", lambda r: r.all_bids_curtailed_energy_mwh, "float"),
    ]


DAY_SUMMARY_COLUMNS = _summary_columns(Column[DaySummaryRow]("date", lambda d: d.date, "date"))
MONTH_SUMMARY_COLUMNS = _summary_columns(
    Column[MonthSummaryRow]("month", lambda m: m.year_month, "text")
)


# --- curtailment and Bitcoin -----------------------------------------------------------------


def hour_columns(model_key: str) -> list[Column[HourRow]]:
    return [
        Column("hour_local", lambda h: h.hour, "text"),
        Column("start_utc", lambda h: h.start_utc, "timestamp"),
        Column("periods", lambda h: " ".join(map(str, h.periods)), "text"),
        Column(F.CURTAILED_ENERGY.header(), lambda h: h.curtailed_energy, "float"),
        Column(F.PAYMENT.header(), lambda h: h.total_payment, "float"),
        Column(F.BITCOIN.header(model_key), lambda h: h.bitcoin_mined, "float"),
    ]


def mining_columns(key_header: str, model_key: str) -> list[Column[MiningRow]]:
    """``key_header``: ``date`` for a month's daily rows, ``month`` for a year's."""
    return [
        Column(key_header, lambda r: r.key, "date" if key_header == "date" else "text"),
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.curtailed_energy, "float"),
        Column(F.PAYMENT.header(), lambda r: r.total_payment, "float"),
        Column(F.BITCOIN.header(model_key), lambda r: r.bitcoin_mined, "float"),
        Column(F.ROW_VALUE_GBP.header(), lambda r: r.value_gbp, "float"),
    ]


# --- farms -----------------------------------------------------------------------------------

LEAD_PARTY_FARMS_COLUMNS: list[Column[LeadPartyFarms]] = [
    Column(F.LEAD_PARTY.header(), lambda g: g.name, "text"),
    Column(F.BM_UNITS.header(), lambda g: " ".join(g.farm_ids), "text"),
    Column(F.CURTAILED_ENERGY.header(), lambda g: g.curtailed_energy, "float"),
    Column(F.PAYMENT.header(), lambda g: g.total_payment, "float"),
]


def top_farm_columns(model_key: str) -> list[Column[TopFarm]]:
    return [
        Column(F.LEAD_PARTY.header(), lambda t: t.name, "text"),
        Column(F.BM_UNITS.header(), lambda t: " ".join(t.farm_ids), "text"),
        Column(F.CURTAILED_ENERGY.header(), lambda t: t.curtailed_energy, "float"),
        Column(F.PAYMENT.header(), lambda t: t.curtailment_payment, "float"),
        Column(F.BITCOIN.header(model_key), lambda t: t.bitcoin_mined, "float"),
        Column(F.VALUE_GBP.header(), lambda t: t.bitcoin_value, "float"),
        Column(
            F.VALUE_GBP_AT_LATEST_PRICE.header(), lambda t: t.bitcoin_value_at_latest_price, "float"
        ),
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
        Column("row_type", lambda r: r.row_type, "text"),
        Column(F.LEAD_PARTY.header(), lambda r: r.lead_party, "text"),
        Column(F.BM_UNIT.header(), lambda r: r.bm_unit, "text"),
        Column(F.CURTAILED_ENERGY.header(), lambda r: r.curtailed_energy_mwh, "float"),
        Column(F.PERCENT_OF_ENERGY.header(), lambda r: r.percent_of_total, "float"),
        Column(F.PAYMENT.header(), lambda r: r.payment_gbp, "float"),
        Column(F.PAYMENT_PER_MWH.header(), lambda r: r.payment_gbp_per_mwh, "float"),
        Column(F.BITCOIN.header(model_key), lambda r: r.btc, "float"),
        Column(F.VALUE_GBP.header(), lambda r: r.value_gbp, "float"),
        Column(
            F.VALUE_GBP_AT_LATEST_PRICE.header(), lambda r: r.value_gbp_at_latest_price, "float"
        ),
    ]


# --- prices ----------------------------------------------------------------------------------

PRICE_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("date", lambda i: i["date"], "date"),
    Column("currency", lambda i: i["currency"], "text"),
    Column(F.BTC_PRICE.header(), lambda i: i["price"], "float"),
    Column("source", lambda i: i["source"], "text"),
]
