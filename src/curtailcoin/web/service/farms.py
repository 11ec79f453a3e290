"""Farm answers: lead parties with their BM units, the farm table (MWh, £ to farms, BTC and its
value per BM unit and lead party) and the top lead parties."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from curtailcoin.miners import MinerModel
from curtailcoin.prices import missing_reason
from curtailcoin.web.legacy_schemas import CurtailedLeadParty
from curtailcoin.web.queries.farms import FarmBtc, FarmRow, farm_btc, farm_totals
from curtailcoin.web.queries.scope import Scope
from curtailcoin.web.schemas import (
    GroupedData,
    GroupedMeta,
    GroupedTotals,
    LeadPartyFarms,
    LeadPartyGroup,
    TopFarm,
    UnitRow,
)
from curtailcoin.web.service.prices import PriceBook
from curtailcoin.web.service.ratios import per, sum_or_none

UNKNOWN_LEAD_PARTY = "Unknown lead party"


def farms_by_lead_party(conn: Connection, scope: Scope) -> list[LeadPartyFarms]:
    groups: dict[str | None, LeadPartyFarms] = {}
    for farm in farm_totals(conn, scope):
        group = groups.get(farm.lead_party)
        if group is None:
            group = groups[farm.lead_party] = LeadPartyFarms(
                name=farm.lead_party or UNKNOWN_LEAD_PARTY,
                lead_party=farm.lead_party,
                farm_ids=[],
                curtailed_energy=0.0,
                total_payment=0.0,
            )
        group.farm_ids.append(farm.farm_id)
        group.curtailed_energy += farm.totals.energy_mwh
        group.total_payment += farm.totals.payment_gbp
    return sorted(groups.values(), key=lambda g: (-g.curtailed_energy, g.name))


def curtailed_lead_parties(conn: Connection, scope: Scope) -> list[CurtailedLeadParty]:
    """The earlier system's ``/api/production/curtailed-lead-parties``: lead parties with
    curtailment in the scope, their BM unit count and totals, by energy."""
    return [
        CurtailedLeadParty(
            lead_party_name=g.lead_party,
            name=g.name,
            farm_count=len(g.farm_ids),
            farm_ids=g.farm_ids,
            total_curtailed_energy=g.curtailed_energy,
            total_payment=g.total_payment,
        )
        for g in farms_by_lead_party(conn, scope)
    ]


def _value_missing_reason(btc: dict[str, FarmBtc], prices: PriceBook) -> str | None:
    """Why some BTC values are null: the first and last dates with Bitcoin and no GBP price."""
    unpriced = [b for b in btc.values() if b.unpriced_first is not None]
    if not unpriced:
        return None
    first = min(b.unpriced_first for b in unpriced if b.unpriced_first is not None)
    last = max(b.unpriced_last for b in unpriced if b.unpriced_last is not None)
    if first == last:
        return missing_reason("GBP", first, prices.failures)
    return (
        f"no BTC/GBP price for some dates with Bitcoin between {first} and {last}; "
        f"fetch them with `curtailcoin prices update --from {first} --to {last}` "
        "or import a CSV"
    )


def _percent(energy_mwh: float, total_energy_mwh: float) -> float:
    return 100.0 * energy_mwh / total_energy_mwh if total_energy_mwh > 0 else 0.0


def _unit_row(farm: FarmRow, unit: FarmBtc, prices: PriceBook, total_energy_mwh: float) -> UnitRow:
    t = farm.totals
    return UnitRow(
        farm_id=farm.farm_id,
        curtailed_energy=t.energy_mwh,
        percentage_of_total=_percent(t.energy_mwh, total_energy_mwh),
        payment=t.payment_gbp,
        payment_per_mwh=per(t.payment_gbp, t.energy_mwh),
        potential_btc=unit.btc,
        btc_value=unit.value_gbp,
        btc_value_at_latest_price=prices.at_latest(unit.btc, "GBP").amount,
        record_count=t.records,
    )


def _group(
    lead_party: str | None, rows: list[UnitRow], prices: PriceBook, total_energy_mwh: float
) -> LeadPartyGroup:
    """A lead party's line: the sums of its BM units' rows."""
    energy = sum(u.curtailed_energy for u in rows)
    payment = sum(u.payment for u in rows)
    group_btc = sum(u.potential_btc for u in rows)
    return LeadPartyGroup(
        lead_party_name=lead_party,
        name=lead_party or UNKNOWN_LEAD_PARTY,
        total_curtailed_energy=energy,
        total_percentage_of_total=_percent(energy, total_energy_mwh),
        total_payment=payment,
        payment_per_mwh=per(payment, energy),
        total_potential_btc=group_btc,
        btc_value=sum_or_none([u.btc_value for u in rows]),
        btc_value_at_latest_price=prices.at_latest(group_btc, "GBP").amount,
        record_count=sum(u.record_count for u in rows),
        farms=rows,
    )


def grouped_data(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
) -> GroupedData:
    tracked = model.key in tracked_models
    farms = farm_totals(conn, scope)
    btc = farm_btc(conn, scope, model, tracked)
    prices = PriceBook.for_scope(conn, scope)
    total_energy = sum(f.totals.energy_mwh for f in farms)
    groups: dict[str | None, list[FarmRow]] = {}
    for farm in farms:
        groups.setdefault(farm.lead_party, []).append(farm)
    out = [
        _group(
            lead_party,
            [_unit_row(f, btc.get(f.farm_id, FarmBtc()), prices, total_energy) for f in members],
            prices,
            total_energy,
        )
        for lead_party, members in groups.items()
    ]
    out.sort(key=lambda g: (-g.total_curtailed_energy, g.name))
    latest = prices.latest.get("GBP")
    return GroupedData(
        farms=out,
        totals=GroupedTotals(
            curtailed_energy=sum(g.total_curtailed_energy for g in out),
            payment=sum(g.total_payment for g in out),
            potential_btc=sum(g.total_potential_btc for g in out),
            btc_value=sum_or_none([g.btc_value for g in out]),
            farm_count=len(farms),
            lead_party_count=len(out),
        ),
        meta=GroupedMeta(
            timeframe=scope.timeframe,
            value=scope.label,
            miner_model=model.key,
            calculation="tracked" if tracked else "computed",
            lead_party=scope.lead_party,
            current_price=latest.price if latest else None,
            current_price_date=latest.price_date if latest else None,
            value_missing_reason=_value_missing_reason(btc, prices),
        ),
    )


def top_farms(
    conn: Connection,
    scope: Scope,
    model: MinerModel,
    tracked_models: Sequence[str],
    limit: int,
) -> list[TopFarm]:
    data = grouped_data(conn, scope, model, tracked_models)
    prices_reason = data.meta.value_missing_reason
    out = [
        TopFarm(
            name=g.name,
            lead_party=g.lead_party_name,
            farm_ids=[f.farm_id for f in g.farms],
            curtailed_energy=g.total_curtailed_energy,
            curtailment_payment=g.total_payment,
            bitcoin_mined=g.total_potential_btc,
            bitcoin_value=g.btc_value,
            bitcoin_value_at_latest_price=g.btc_value_at_latest_price,
            value_missing_reason=prices_reason if g.btc_value is None else None,
        )
        for g in data.farms
    ]
    return out[:limit]
