"""What each export table holds: its typed columns (names with units, as in ``db.fields``), the
filters that apply to it, and the rows of a request in chunks.

A table is anything with ``fields(request)`` and ``chunks(conn, request, size)``: the stored
tables are :class:`SqlTable` (one ordered ``SELECT``, streamed); the ``scenario`` export
(:class:`~curtailcoin.exports.scenario.ScenarioTable`, the site scenario of ``economics``) is one
more entry of :data:`TABLES` whose rows come from the scenario model, through the same writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import Connection, Select, and_, select

from curtailcoin.db import fields as F
from curtailcoin.db.curtailment_tables import curtailment_records, historical_bitcoin_calculations
from curtailcoin.db.summary_tables import (
    bitcoin_daily_summaries,
    bitcoin_farm_daily_summaries,
    bitcoin_monthly_summaries,
    bitcoin_yearly_summaries,
    daily_summaries,
    farm_daily_summaries,
    monthly_summaries,
    yearly_summaries,
)
from curtailcoin.exports.scenario import ScenarioTable
from curtailcoin.settlement import year_month
from curtailcoin.tabular import Field

if TYPE_CHECKING:
    from curtailcoin.economics.scenario import ScenarioRequest

Filter = Literal["lead_party", "bm_unit", "model"]
OPTION: dict[Filter, str] = {
    "lead_party": "--lead-party",
    "bm_unit": "--bm-unit",
    "model": "--model",
}


@dataclass(frozen=True)
class ExportRequest:
    """A date range (both ends inclusive, settlement dates) and the optional filters; the
    ``scenario`` export's site, fleet, assumptions and grain (its range is this one's)."""

    start: date
    end: date
    lead_party: str | None = None
    bm_unit: str | None = None
    model: str | None = None
    scenario: ScenarioRequest | None = None

    def given(self) -> list[Filter]:
        """The filters this request sets."""
        values: dict[Filter, str | None] = {
            "lead_party": self.lead_party,
            "bm_unit": self.bm_unit,
            "model": self.model,
        }
        return [name for name, value in values.items() if value is not None]


class ExportTable(Protocol):
    """An exportable table: its columns for a request and the request's rows, chunk by chunk."""

    @property
    def filters(self) -> frozenset[Filter]: ...

    def fields(self, request: ExportRequest) -> list[Field]: ...

    def chunks(
        self, conn: Connection, request: ExportRequest, size: int
    ) -> Iterator[Sequence[tuple[Any, ...]]]: ...


@dataclass(frozen=True)
class SqlTable:
    """A stored table: ``query(request)`` selects the columns of ``fields(request)`` in order."""

    columns: Callable[[ExportRequest], list[Field]]
    query: Callable[[ExportRequest], Select[Any]]
    filters: frozenset[Filter]

    def fields(self, request: ExportRequest) -> list[Field]:
        return self.columns(request)

    def chunks(
        self, conn: Connection, request: ExportRequest, size: int
    ) -> Iterator[Sequence[tuple[Any, ...]]]:
        """The rows, ``size`` at a time: a server-side cursor on PostgreSQL, ``fetchmany`` on
        SQLite — never the whole range in memory."""
        result = conn.execution_options(stream_results=True, yield_per=size).execute(
            self.query(request)
        )
        for part in result.partitions(size):
            yield [tuple(row) for row in part]


# --- columns ---------------------------------------------------------------------------------

ENERGY = Field(F.CURTAILED_ENERGY.name, "float")
PAYMENT = Field(F.PAYMENT.name, "float")
RECORDS = Field(F.RECORD_COUNT.name, "int")
FARMS = Field(F.FARM_COUNT.name, "int")
BM_UNIT = Field(F.BM_UNIT.header(), "text")
LEAD_PARTY = Field(F.LEAD_PARTY.header(), "text")
MODEL = Field("miner_model", "text")
BITCOIN = Field(F.BITCOIN.name, "float")
#: the energy a model's BTC covers (less the periods whose difficulty is pending)
BITCOIN_ENERGY = Field("bitcoin_energy_mwh", "float")


def _with_model(fields: list[Field]) -> Callable[[ExportRequest], list[Field]]:
    """The columns, and the model's BTC and the energy it covers when ``--model`` is given."""

    def columns(request: ExportRequest) -> list[Field]:
        return fields + ([MODEL, BITCOIN, BITCOIN_ENERGY] if request.model else [])

    return columns


def _fixed(fields: list[Field]) -> Callable[[ExportRequest], list[Field]]:
    return lambda _request: fields


# --- queries ---------------------------------------------------------------------------------

r = curtailment_records.c
c = historical_bitcoin_calculations.c
fd = farm_daily_summaries.c
bfd = bitcoin_farm_daily_summaries.c


def _records(q: ExportRequest) -> Select[Any]:
    query = select(
        r.settlement_date,
        r.settlement_period,
        r.farm_id,
        r.lead_party_name,
        -r.volume_mwh,
        r.payment_gbp,
        r.original_price,
        r.final_price,
        r.so_flag,
        r.cadl_flag,
        r.acceptance_id,
        r.bid_offer_pair_id,
        r.sequence_number,
    ).where(r.settlement_date >= q.start, r.settlement_date <= q.end)
    if q.lead_party is not None:
        query = query.where(r.lead_party_name == q.lead_party)
    if q.bm_unit is not None:
        query = query.where(r.farm_id == q.bm_unit)
    return query.order_by(r.settlement_date, r.settlement_period, r.farm_id, r.id)


RECORD_FIELDS = [
    Field("settlement_date", "date"),
    Field("settlement_period", "int"),
    BM_UNIT,
    LEAD_PARTY,
    ENERGY,
    PAYMENT,
    Field("original_price_gbp_per_mwh", "float"),
    Field("final_price_gbp_per_mwh", "float"),
    Field("so_flag", "bool"),
    Field("cadl_flag", "bool"),
    Field("acceptance_id", "int"),
    Field("bid_offer_pair_id", "int"),
    Field("sequence_number", "int"),
]


def _calculations(q: ExportRequest) -> Select[Any]:
    query = select(
        c.settlement_date,
        c.settlement_period,
        c.farm_id,
        c.miner_model,
        c.curtailed_energy_mwh,
        c.difficulty,
        c.block_subsidy_btc,
        c.hashrate_th,
        c.power_w,
        c.bitcoin_mined_btc,
    ).where(c.settlement_date >= q.start, c.settlement_date <= q.end)
    if q.bm_unit is not None:
        query = query.where(c.farm_id == q.bm_unit)
    if q.model is not None:
        query = query.where(c.miner_model == q.model)
    return query.order_by(c.settlement_date, c.settlement_period, c.farm_id, c.miner_model)


CALCULATION_FIELDS = [
    Field("settlement_date", "date"),
    Field("settlement_period", "int"),
    BM_UNIT,
    MODEL,
    ENERGY,
    Field(F.DIFFICULTY.name, "float"),
    Field(F.BLOCK_SUBSIDY.name, "float"),
    Field(F.HASHRATE.name, "float"),
    Field(F.POWER.name, "float"),
    BITCOIN,
]


def _summaries(table: Any, btc_table: Any, key: str, low: Any, high: Any) -> Any:
    """``table`` between the keys, with the model's stored BTC when ``--model`` is given."""

    def query(q: ExportRequest) -> Select[Any]:
        t = table.c
        columns = [t[key], t.curtailed_energy_mwh, t.payment_gbp, t.record_count, t.farm_count]
        source: Any = table
        if q.model is not None:
            b = btc_table.c
            source = table.outerjoin(btc_table, and_(b[key] == t[key], b.miner_model == q.model))
            columns += [b.miner_model, b.bitcoin_mined_btc, b.curtailed_energy_mwh]
        return (
            select(*columns)
            .select_from(source)
            .where(t[key] >= low(q.start), t[key] <= high(q.end))
            .order_by(t[key])
        )

    return query


def _farm_days(q: ExportRequest) -> Select[Any]:
    columns: list[Any] = [
        fd.summary_date,
        fd.farm_id,
        fd.lead_party_name,
        fd.curtailed_energy_mwh,
        fd.payment_gbp,
        fd.record_count,
        fd.pending_energy_mwh,
        fd.btc_per_th_per_w,
    ]
    source: Any = farm_daily_summaries
    if q.model is not None:
        source = farm_daily_summaries.outerjoin(
            bitcoin_farm_daily_summaries,
            and_(
                bfd.summary_date == fd.summary_date,
                bfd.farm_id == fd.farm_id,
                bfd.miner_model == q.model,
            ),
        )
        columns += [bfd.miner_model, bfd.bitcoin_mined_btc, bfd.curtailed_energy_mwh]
    query = select(*columns).select_from(source)
    query = query.where(fd.summary_date >= q.start, fd.summary_date <= q.end)
    if q.lead_party is not None:
        query = query.where(fd.lead_party_name == q.lead_party)
    if q.bm_unit is not None:
        query = query.where(fd.farm_id == q.bm_unit)
    return query.order_by(fd.summary_date, fd.farm_id)


FARM_FIELDS = [
    Field("date", "date"),
    BM_UNIT,
    LEAD_PARTY,
    ENERGY,
    PAYMENT,
    RECORDS,
    Field(F.PENDING_ENERGY.name, "float"),
    Field(F.BTC_PER_TH_PER_W.name, "float"),
]


def _day(d: date) -> date:
    return d


def _month(d: date) -> str:
    return year_month(d)


def _year(d: date) -> str:
    return f"{d.year:04d}"


def _summary_fields(key: Field) -> Callable[[ExportRequest], list[Field]]:
    return _with_model([key, ENERGY, PAYMENT, RECORDS, FARMS])


TABLES: dict[str, ExportTable] = {
    "records": SqlTable(_fixed(RECORD_FIELDS), _records, frozenset({"lead_party", "bm_unit"})),
    "calculations": SqlTable(
        _fixed(CALCULATION_FIELDS), _calculations, frozenset({"bm_unit", "model"})
    ),
    "daily": SqlTable(
        _summary_fields(Field("date", "date")),
        _summaries(daily_summaries, bitcoin_daily_summaries, "summary_date", _day, _day),
        frozenset({"model"}),
    ),
    "monthly": SqlTable(
        _summary_fields(Field("month", "text")),
        _summaries(monthly_summaries, bitcoin_monthly_summaries, "year_month", _month, _month),
        frozenset({"model"}),
    ),
    "yearly": SqlTable(
        _summary_fields(Field("year", "text")),
        _summaries(yearly_summaries, bitcoin_yearly_summaries, "year", _year, _year),
        frozenset({"model"}),
    ),
    "farms": SqlTable(
        _with_model(FARM_FIELDS), _farm_days, frozenset({"lead_party", "bm_unit", "model"})
    ),
    "scenario": ScenarioTable(),
}
"""Every export by its name, in the order ``--help`` lists them."""
