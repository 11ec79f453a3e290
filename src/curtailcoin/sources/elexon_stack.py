"""The settlement stack answer, read against Elexon's ``SettlementStackResponse`` contract.

Elexon's OpenAPI document marks most stack fields nullable and none required, so it is read as
the contract for *keys*: every line carries every key (an absent key is a schema change, not
data), ``data`` is a list, every number is finite, and a line's identity (date, period, unit,
acceptance, pair, sequence) is unique within the answer. A key the contract does not know is
accepted (Elexon may add fields) and logged once per process; a renamed key still fails, because
its old name is then absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from curtailcoin.sources.elexon_schema import (
    INT32,
    INT64,
    ElexonSchemaError,
    data_array,
    opt_bool,
    opt_datetime,
    opt_float,
    opt_int,
    opt_str,
    req_date,
    req_float,
    req_int,
)

log = logging.getLogger("curtailcoin.elexon")

#: The property names of ``SettlementStackResponse`` (checked against the OpenAPI document).
STACK_LINE_KEYS: frozenset[str] = frozenset(
    {
        "settlementDate",
        "settlementPeriod",
        "startTime",
        "createdDateTime",
        "sequenceNumber",
        "id",
        "acceptanceId",
        "bidOfferPairId",
        "cadlFlag",
        "soFlag",
        "storProviderFlag",
        "repricedIndicator",
        "reserveScarcityPrice",
        "originalPrice",
        "volume",
        "dmatAdjustedVolume",
        "arbitrageAdjustedVolume",
        "nivAdjustedVolume",
        "parAdjustedVolume",
        "finalPrice",
        "transmissionLossMultiplier",
        "tlmAdjustedVolume",
        "tlmAdjustedCost",
    }
)

#: The number-typed keys (``format: double``); ``volume`` is never null.
_NUMBER_KEYS = (
    "reserveScarcityPrice",
    "originalPrice",
    "dmatAdjustedVolume",
    "arbitrageAdjustedVolume",
    "nivAdjustedVolume",
    "parAdjustedVolume",
    "finalPrice",
    "transmissionLossMultiplier",
    "tlmAdjustedVolume",
    "tlmAdjustedCost",
)

#: The identity of a line within one period's answer (the date and period are the request's).
IDENTITY_KEYS = ("id", "acceptanceId", "bidOfferPairId", "sequenceNumber")

_extra_keys_logged: set[str] = set()


@dataclass(frozen=True, slots=True)
class StackLine:
    """One line of the settlement bid (or offer) stack, fields as Elexon names them."""

    settlement_date: date
    settlement_period: int
    start_time: datetime | None
    created_datetime: datetime | None
    sequence_number: int
    bm_unit_id: str | None
    acceptance_id: int | None
    bid_offer_pair_id: int | None
    cadl_flag: bool | None
    so_flag: bool | None
    stor_provider_flag: bool | None
    repriced_indicator: bool | None
    reserve_scarcity_price: float | None
    original_price: float | None
    volume: float
    dmat_adjusted_volume: float | None
    arbitrage_adjusted_volume: float | None
    niv_adjusted_volume: float | None
    par_adjusted_volume: float | None
    final_price: float | None
    transmission_loss_multiplier: float | None
    tlm_adjusted_volume: float | None
    tlm_adjusted_cost: float | None


def check_keys(raw: Mapping[str, Any], context: str) -> None:
    """Every contract key present (an absent key raises, naming it); unknown keys logged once."""
    keys = raw.keys()
    missing = STACK_LINE_KEYS - keys
    extra = keys - STACK_LINE_KEYS
    if missing:
        key = sorted(missing)[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        unknown = f"; key {sorted(extra)[0]!r} is not in the schema" if extra else ""
        problem = f"field {key!r} is absent{more}{unknown}"
        raise ElexonSchemaError(context, problem)
    new = extra - _extra_keys_logged
    if new:
        _extra_keys_logged.update(new)
        log.warning(
            "stack lines carry keys not in the schema (accepted, not stored)",
            extra={"keys": ",".join(sorted(new)), "where": context},
        )


def parse_stack_line(raw: Any, context: str = "stack line") -> StackLine:
    """Parse one ``SettlementStackResponse`` object strictly (every key present, numbers finite)."""
    if not isinstance(raw, dict):
        raise ElexonSchemaError(context, f"line is {type(raw).__name__}, expected an object")
    check_keys(raw, context)
    return StackLine(
        settlement_date=req_date(raw, "settlementDate", context),
        settlement_period=req_int(raw, "settlementPeriod", context, INT32),
        start_time=opt_datetime(raw, "startTime", context),
        created_datetime=opt_datetime(raw, "createdDateTime", context),
        sequence_number=req_int(raw, "sequenceNumber", context, INT32),
        bm_unit_id=opt_str(raw, "id", context),
        acceptance_id=opt_int(raw, "acceptanceId", context),
        bid_offer_pair_id=opt_int(raw, "bidOfferPairId", context, INT32),
        cadl_flag=opt_bool(raw, "cadlFlag", context),
        so_flag=opt_bool(raw, "soFlag", context),
        stor_provider_flag=opt_bool(raw, "storProviderFlag", context),
        repriced_indicator=opt_bool(raw, "repricedIndicator", context),
        reserve_scarcity_price=opt_float(raw, "reserveScarcityPrice", context),
        original_price=opt_float(raw, "originalPrice", context),
        volume=req_float(raw, "volume", context),
        dmat_adjusted_volume=opt_float(raw, "dmatAdjustedVolume", context),
        arbitrage_adjusted_volume=opt_float(raw, "arbitrageAdjustedVolume", context),
        niv_adjusted_volume=opt_float(raw, "nivAdjustedVolume", context),
        par_adjusted_volume=opt_float(raw, "parAdjustedVolume", context),
        final_price=opt_float(raw, "finalPrice", context),
        transmission_loss_multiplier=opt_float(raw, "transmissionLossMultiplier", context),
        tlm_adjusted_volume=opt_float(raw, "tlmAdjustedVolume", context),
        tlm_adjusted_cost=opt_float(raw, "tlmAdjustedCost", context),
    )


def _finite_or_none(value: Any) -> bool:
    if value is None:
        return True
    kind = type(value)
    if kind is float:
        return bool(value - value == 0.0)  # False for NaN and ±inf
    return kind is int and -(10**308) <= value <= 10**308  # larger: the slow path decides


def _int_in(value: Any, bounds: tuple[int, int]) -> bool:
    return type(value) is int and bounds[0] <= value <= bounds[1]


def _plain_unkept_line(raw: dict[str, Any]) -> bool:
    """The common case, checked fast: what :func:`_check_unkept_line` checks, as a yes or no."""
    unit, acceptance, pair = raw["id"], raw["acceptanceId"], raw["bidOfferPairId"]
    return (
        (unit is None or type(unit) is str)
        and _int_in(raw["sequenceNumber"], INT32)
        and (acceptance is None or _int_in(acceptance, INT64))
        and (pair is None or _int_in(pair, INT32))
        and raw["volume"] is not None
        and _finite_or_none(raw["volume"])
        and all(_finite_or_none(raw[key]) for key in _NUMBER_KEYS)
    )


def _check_unkept_line(raw: dict[str, Any], context: str) -> None:
    """A line not parsed in full (a unit ``keep`` rejects): its identity and numbers still."""
    opt_str(raw, "id", context)
    req_int(raw, "sequenceNumber", context, INT32)
    opt_int(raw, "acceptanceId", context)
    opt_int(raw, "bidOfferPairId", context, INT32)
    req_float(raw, "volume", context)
    for key in _NUMBER_KEYS:
        opt_float(raw, key, context)


def _repeated(where: str, index: int, first: int, identity: tuple[Any, ...]) -> ElexonSchemaError:
    shown = ", ".join(f"{k} {v!r}" for k, v in zip(IDENTITY_KEYS, identity, strict=True))
    return ElexonSchemaError(
        where,
        f"line {index} repeats the identity of line {first} ({shown})",
        cause="a line's identity (date, period, id, acceptanceId, bidOfferPairId, "
        "sequenceNumber) repeats",
    )


def parse_stack_response(
    payload: Any,
    settlement_date: date,
    period: int,
    keep: Callable[[str | None], bool] | None = None,
) -> tuple[list[StackLine], int]:
    """Parse a stack response; return the kept lines and the number of lines in the stack.

    Every line must carry every contract key and belong to the requested date and period, and no
    two lines may share an identity (None equals None). Lines whose BM unit ``keep`` rejects
    (non-wind units, say) have only their keys, identity and numbers checked.
    """
    day = settlement_date.isoformat()
    where = f"stack {day} period {period}"
    data = data_array(payload, where)
    lines: list[StackLine] = []
    seen: dict[tuple[Any, ...], int] = {}
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise ElexonSchemaError(
                f"{where} line {index}", f"line is {type(raw).__name__}, expected an object"
            )
        unit = raw.get("id")
        context = f"{where} line {index}" + (f" ({unit})" if isinstance(unit, str) else "")
        if raw.keys() != STACK_LINE_KEYS:
            check_keys(raw, context)
        if keep is not None and not keep(unit):
            same_day = str(raw["settlementDate"])[:10] == day
            if not same_day or raw["settlementPeriod"] != period:
                raise ElexonSchemaError(
                    context,
                    f"line is for {raw['settlementDate']!r} period {raw['settlementPeriod']!r}",
                )
            if not _plain_unkept_line(raw):
                _check_unkept_line(raw, context)  # raises, naming the field and the value
        else:
            line = parse_stack_line(raw, context)
            if line.settlement_date != settlement_date or line.settlement_period != period:
                raise ElexonSchemaError(
                    context,
                    f"line is for {line.settlement_date} period {line.settlement_period}",
                )
            lines.append(line)
        identity = tuple(raw[k] for k in IDENTITY_KEYS)
        first = seen.setdefault(identity, index)
        if first != index:
            raise _repeated(where, index, first, identity)
    return lines, len(data)
