"""Reference answers: the data range with the latest prices, and the miner catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.settlement import settlement_today
from curtailcoin.web.queries import reference as reference_q
from curtailcoin.web.queries.reference import miner_catalogue
from curtailcoin.web.schemas import DataRangeOut, MinerModelOut
from curtailcoin.web.service.prices import PriceBook


def model_out(model: MinerModel, tracked: Sequence[str]) -> MinerModelOut:
    return MinerModelOut(
        key=model.key,
        manufacturer=model.manufacturer,
        name=model.model_name,
        hashrate_th=model.hashrate_th,
        power_w=model.power_w,
        efficiency_j_per_th=model.efficiency_j_per_th,
        release_year=model.release_year,
        tracked=model.key in tracked,
        is_custom=model.is_custom,
    )


def data_range(
    conn: Connection, tracked_models: Sequence[str], default_model: str, *, simulated: bool
) -> DataRangeOut:
    rng = reference_q.data_range(conn)
    prices = PriceBook.load(conn, settlement_today(), settlement_today())
    return DataRangeOut(
        first_date=rng.first_date,
        last_date=rng.last_date,
        last_date_with_curtailment=rng.last_date_with_curtailment,
        today=settlement_today(),
        latest_price={c: prices.latest_value(c) for c in ("GBP", "USD")},
        tracked_models=list(tracked_models),
        default_model=default_model,
        simulated_data=simulated,
    )


def miner_models(conn: Connection, tracked_models: Sequence[str]) -> list[MinerModelOut]:
    """The catalogue: tracked models first, then by efficiency."""
    tracked = list(tracked_models)
    models = miner_catalogue(conn).values()
    ordered = sorted(models, key=lambda m: (m.key not in tracked, m.efficiency_j_per_th, m.key))
    return [model_out(m, tracked) for m in ordered]
