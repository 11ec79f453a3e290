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
from operator import itemgetter
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

#: The :class:`StackLine` fields of :data:`_NUMBER_KEYS`, in the same order.
_NUMBER_FIELDS = (
    "reserve_scarcity_price",
    "original_price",
    "dmat_adjusted_volume",
    "arbitrage_adjusted_volume",
    "niv_adjusted_volume",
    "par_adjusted_volume",
    "final_price",
    "transmission_loss_multiplier",
    "tlm_adjusted_volume",
    "tlm_adjusted_cost",
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


_numbers_of = itemgetter("volume", *_NUMBER_KEYS)
_flags_of = itemgetter("cadlFlag", "soFlag", "storProviderFlag", "repricedIndicator")
_identity_of = itemgetter(*IDENTITY_KEYS)
_FLOAT_OR_NONE = frozenset({float, type(None)})
_NUMBER_OR_NONE = frozenset({float, int, type(None)})
_BOOL_OR_NONE = frozenset({bool, type(None)})
_DOUBLE_MAX = 10**308  # an integer beyond: the strict path decides


def _plain_numbers(raw: dict[str, Any]) -> list[float | None] | None:
    """``volume`` then the :data:`_NUMBER_KEYS` of a line as floats (None where null), or None
    when one is not a finite number (or ``volume`` is null): checked in a few C calls, not one
    call per field. A sum of finite doubles is finite unless it overflows (the strict path
    then decides); a NaN or an infinity makes it non-finite."""
    numbers: list[Any] = list(_numbers_of(raw))
    kinds = set(map(type, numbers))
    if numbers[0] is None or not kinds <= _NUMBER_OR_NONE:
        return None
    if not kinds <= _FLOAT_OR_NONE:  # integers (bool is not one here): as opt_float reads them
        if any(type(n) is int and not -_DOUBLE_MAX <= n <= _DOUBLE_MAX for n in numbers):
            return None
        numbers = [None if n is None else float(n) for n in numbers]
    total = sum(filter(None, numbers))  # None and 0.0 dropped
    return numbers if total - total == 0.0 else None


def _plain_identity(raw: dict[str, Any]) -> bool:
    """The unit, sequence number, acceptance and pair of a line have their types and ranges."""
    unit, sequence = raw["id"], raw["sequenceNumber"]
    acceptance, pair = raw["acceptanceId"], raw["bidOfferPairId"]
    return (
        (unit is None or type(unit) is str)
        and type(sequence) is int
        and INT32[0] <= sequence <= INT32[1]
        and (acceptance is None or (type(acceptance) is int and INT64[0] <= acceptance <= INT64[1]))
        and (pair is None or (type(pair) is int and INT32[0] <= pair <= INT32[1]))
    )


_NOT_PLAIN: Any = object()


def _when(value: Any, times: dict[str, datetime]) -> Any:
    """A line's ``startTime`` / ``createdDateTime``, parsed once per distinct text (a period's
    lines share a few); :data:`_NOT_PLAIN` when it is not a date-time (the strict path says
    why)."""
    if value is None:
        return None
    if type(value) is not str:
        return _NOT_PLAIN
    parsed = times.get(value)
    if parsed is None:
        try:
            read = opt_datetime({"v": value}, "v", "")
        except ElexonSchemaError:
            return _NOT_PLAIN
        parsed = times[value] = read if read is not None else _NOT_PLAIN
    return parsed


def _plain_kept_line(
    raw: dict[str, Any], day: str, settlement_date: date, period: int, times: dict[str, datetime]
) -> StackLine | None:
    """The common case of :func:`parse_stack_line` for a line of the requested date and
    period, checked and built without a call per field: the same line, or None when anything
    is off (the strict path then names it)."""
    when, flags = raw["settlementDate"], _flags_of(raw)
    if not (
        type(when) is str
        and when[:10] == day
        and type(raw["settlementPeriod"]) is int
        and raw["settlementPeriod"] == period
        and set(map(type, flags)) <= _BOOL_OR_NONE
        and _plain_identity(raw)
    ):
        return None
    numbers = _plain_numbers(raw)
    start, created = _when(raw["startTime"], times), _when(raw["createdDateTime"], times)
    if numbers is None or start is _NOT_PLAIN or created is _NOT_PLAIN:
        return None
    volume = numbers[0]
    assert volume is not None  # _plain_numbers refuses a null volume
    return StackLine(
        settlement_date=settlement_date,
        settlement_period=period,
        start_time=start,
        created_datetime=created,
        sequence_number=raw["sequenceNumber"],
        bm_unit_id=raw["id"],
        acceptance_id=raw["acceptanceId"],
        bid_offer_pair_id=raw["bidOfferPairId"],
        cadl_flag=flags[0],
        so_flag=flags[1],
        stor_provider_flag=flags[2],
        repriced_indicator=flags[3],
        volume=volume,
        **dict(zip(_NUMBER_FIELDS, numbers[1:], strict=True)),
    )


def _plain_unkept_line(raw: dict[str, Any]) -> bool:
    """The common case, checked fast: what :func:`_check_unkept_line` checks, as a yes or no."""
    return _plain_identity(raw) and _plain_numbers(raw) is not None


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


def _line_context(where: str, index: int, unit: Any) -> str:
    """Where a line is, for its error (made only when there is one)."""
    return f"{where} line {index}" + (f" ({unit})" if isinstance(unit, str) else "")


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
    times: dict[str, datetime] = {}
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise ElexonSchemaError(
                f"{where} line {index}", f"line is {type(raw).__name__}, expected an object"
            )
        unit = raw.get("id")
        if raw.keys() != STACK_LINE_KEYS:
            check_keys(raw, _line_context(where, index, unit))
        if keep is not None and not keep(unit):
            same_day = str(raw["settlementDate"])[:10] == day
            if not same_day or raw["settlementPeriod"] != period:
                raise ElexonSchemaError(
                    _line_context(where, index, unit),
                    f"line is for {raw['settlementDate']!r} period {raw['settlementPeriod']!r}",
                )
            if not _plain_unkept_line(raw):  # raises, naming the field and the value
                _check_unkept_line(raw, _line_context(where, index, unit))
        else:
            line = _plain_kept_line(raw, day, settlement_date, period, times)
            if line is None:
                context = _line_context(where, index, unit)
                line = parse_stack_line(raw, context)
                if line.settlement_date != settlement_date or line.settlement_period != period:
                    raise ElexonSchemaError(
                        context,
                        f"line is for {line.settlement_date} period {line.settlement_period}",
                    )
            lines.append(line)
        identity = _identity_of(raw)
        first = seen.setdefault(identity, index)
        if first != index:
            raise _repeated(where, index, first, identity)
    return lines, len(data)
