"""The field registry is where the schema's comments, the API's descriptions and the CSV headers
come from: every stored figure names its entry, and the texts are the ones users already read."""

from __future__ import annotations

from sqlalchemy import Float

from curtailcoin.config import Settings
from curtailcoin.coverage import FetchStatus
from curtailcoin.db import fields as F
from curtailcoin.db.schema import metadata
from curtailcoin.web.app import create_app

#: Elexon's own figures of a stack line, stored as Elexon sends them (not product quantities)
_SOURCE_COPIES = {
    ("bid_stack_lines", c)
    for c in (
        "reserve_scarcity_price",
        "dmat_adjusted_volume",
        "arbitrage_adjusted_volume",
        "niv_adjusted_volume",
        "par_adjusted_volume",
        "transmission_loss_multiplier",
        "tlm_adjusted_volume",
        "tlm_adjusted_cost",
    )
}


def test_every_stored_figure_names_its_registry_entry() -> None:
    registry = F.registry()
    unnamed = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            name = column.info.get("quantity")
            if name is not None:
                assert name in registry, (table.name, column.name)
            elif isinstance(column.type, Float) and (table.name, column.name) not in _SOURCE_COPIES:
                unnamed.append((table.name, column.name))
    assert unnamed == []


def test_a_column_comment_is_its_entrys() -> None:
    entries = [v for v in vars(F).values() if isinstance(v, F.Quantity)]
    for table in metadata.sorted_tables:
        for column in table.columns:
            name = column.info.get("quantity")
            if name is not None and column.comment is not None:
                assert any(e.name == name and e.comment == column.comment for e in entries), (
                    table.name,
                    column.name,
                )


def test_the_seed_names_and_comments_stay() -> None:
    daily = metadata.tables["daily_summaries"].c
    assert daily.curtailed_energy_mwh.comment == "MWh, positive"
    assert daily.payment_gbp.comment == "£ paid to farms"
    for level in ("daily", "monthly", "yearly"):  # SPEC §6's SQL names, Python keys with units
        table = metadata.tables[f"{level}_summaries"].c
        assert (table.curtailed_energy_mwh.name, table.payment_gbp.name) == (
            "total_curtailed_energy",
            "total_payment",
        )
    records = metadata.tables["curtailment_records"].c
    assert (records.volume_mwh.name, records.payment_gbp.name) == ("volume", "payment")
    assert records.volume_mwh.comment == "signed MWh as Elexon (< 0)"
    assert records.payment_gbp.comment == "£ paid to the farm = original_price × volume"
    assert metadata.tables["settlement_periods"].c.fetch_status.comment == (
        "fetched_with_data | fetched_empty | fetched_incomplete | missing | failed"
    )
    failed: str = FetchStatus.FAILED  # a StrEnum member is the string itself
    assert failed == "failed" and f"{FetchStatus.FETCHED_EMPTY}" == "fetched_empty"


def test_csv_headers() -> None:
    assert [
        q.header()
        for q in (
            F.CURTAILED_ENERGY,
            F.PAYMENT,
            F.RECORD_COUNT,
            F.FARM_COUNT,
            F.LEAD_PARTY,
            F.BM_UNIT,
            F.BM_UNITS,
            F.ROW_VALUE_GBP,
            F.VALUE_GBP,
            F.VALUE_GBP_AT_LATEST_PRICE,
            F.PERCENT_OF_ENERGY,
            F.PAYMENT_PER_MWH,
            F.BTC_PRICE,
        )
    ] == [
        "curtailed_energy_mwh",
        "payment_to_farms_gbp",
        "records",
        "farms",
        "lead_party",
        "bm_unit",
        "bm_units",
        "value_gbp_at_date_price",
        "bitcoin_value_gbp_at_date_prices",
        "bitcoin_value_gbp_at_latest_price",
        "percent_of_total",
        "payment_gbp_per_mwh",
        "price",
    ]
    assert F.BITCOIN.header("S19J_PRO") == "bitcoin_S19J_PRO_btc"


def test_api_descriptions_come_from_the_registry() -> None:
    app = create_app(Settings(database_url="sqlite://"), cache=False)
    schemas = app.openapi()["components"]["schemas"]
    row = schemas["DailySummary"]["properties"]
    assert row["totalCurtailedEnergy"]["description"] == F.CURTAILED_ENERGY.description
    assert row["totalPayment"]["description"] == F.PAYMENT.description
    assert row["recordCount"]["description"] == F.RECORD_COUNT.description
    unit = schemas["UnitRow"]["properties"]
    assert unit["farmId"]["description"] == F.BM_UNIT.description == "Elexon BM unit id"
    assert unit["btcValue"]["anyOf"] and unit["btcValue"]["description"] == F.VALUE_GBP.description
    assert schemas["MinerModelOut"]["properties"]["hashrateTh"]["description"] == "TH/s"
