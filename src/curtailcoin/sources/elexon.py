"""The Elexon Insights API: settlement bid stacks, acceptance volumes and BM units.

Parsing is strict: a line that does not match Elexon's ``SettlementStackResponse`` schema is a
``PermanentSourceError`` (a schema change must be noticed, not swallowed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from curtailcoin.config import Settings
from curtailcoin.settlement import check_period
from curtailcoin.sources.http import (
    JsonHttpClient,
    PermanentSourceError,
    RetryPolicy,
    SourceError,
)


class ElexonSchemaError(PermanentSourceError):
    """Elexon answered with JSON that does not match its documented schema."""


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


@dataclass(frozen=True, slots=True)
class AcceptanceVolume:
    """Acceptance volume (BOAV) of one BM unit, period and acceptance: the cross-check source."""

    settlement_date: date
    settlement_period: int
    bm_unit_id: str | None
    acceptance_id: int | None
    total_volume_accepted: float | None


def _where(context: str, key: str) -> str:
    return f"{context}: field {key!r}"


def _opt_float(raw: Mapping[str, Any], key: str, context: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ElexonSchemaError(f"{_where(context, key)} is {value!r}, expected a number")
    return float(value)


def _req_float(raw: Mapping[str, Any], key: str, context: str) -> float:
    value = _opt_float(raw, key, context)
    if value is None:
        raise ElexonSchemaError(f"{_where(context, key)} is missing or null, expected a number")
    return value


def _opt_int(raw: Mapping[str, Any], key: str, context: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ElexonSchemaError(f"{_where(context, key)} is {value!r}, expected an integer")
    return value


def _req_int(raw: Mapping[str, Any], key: str, context: str) -> int:
    value = _opt_int(raw, key, context)
    if value is None:
        raise ElexonSchemaError(f"{_where(context, key)} is missing or null, expected an integer")
    return value


def _opt_bool(raw: Mapping[str, Any], key: str, context: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ElexonSchemaError(f"{_where(context, key)} is {value!r}, expected a boolean")


def _opt_str(raw: Mapping[str, Any], key: str, context: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ElexonSchemaError(f"{_where(context, key)} is {value!r}, expected a string")


def _opt_datetime(raw: Mapping[str, Any], key: str, context: str) -> datetime | None:
    text = _opt_str(raw, key, context)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ElexonSchemaError(
            f"{_where(context, key)} is {text!r}, expected a date-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _req_date(raw: Mapping[str, Any], key: str, context: str) -> date:
    text = _opt_str(raw, key, context)
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        raise ElexonSchemaError(f"{_where(context, key)} is {text!r}, expected a date") from None


def parse_stack_line(raw: Any, context: str = "stack line") -> StackLine:
    """Parse one ``SettlementStackResponse`` object strictly."""
    if not isinstance(raw, dict):
        raise ElexonSchemaError(f"{context} is {type(raw).__name__}, expected an object")
    return StackLine(
        settlement_date=_req_date(raw, "settlementDate", context),
        settlement_period=_req_int(raw, "settlementPeriod", context),
        start_time=_opt_datetime(raw, "startTime", context),
        created_datetime=_opt_datetime(raw, "createdDateTime", context),
        sequence_number=_req_int(raw, "sequenceNumber", context),
        bm_unit_id=_opt_str(raw, "id", context),
        acceptance_id=_opt_int(raw, "acceptanceId", context),
        bid_offer_pair_id=_opt_int(raw, "bidOfferPairId", context),
        cadl_flag=_opt_bool(raw, "cadlFlag", context),
        so_flag=_opt_bool(raw, "soFlag", context),
        stor_provider_flag=_opt_bool(raw, "storProviderFlag", context),
        repriced_indicator=_opt_bool(raw, "repricedIndicator", context),
        reserve_scarcity_price=_opt_float(raw, "reserveScarcityPrice", context),
        original_price=_opt_float(raw, "originalPrice", context),
        volume=_req_float(raw, "volume", context),
        dmat_adjusted_volume=_opt_float(raw, "dmatAdjustedVolume", context),
        arbitrage_adjusted_volume=_opt_float(raw, "arbitrageAdjustedVolume", context),
        niv_adjusted_volume=_opt_float(raw, "nivAdjustedVolume", context),
        par_adjusted_volume=_opt_float(raw, "parAdjustedVolume", context),
        final_price=_opt_float(raw, "finalPrice", context),
        transmission_loss_multiplier=_opt_float(raw, "transmissionLossMultiplier", context),
        tlm_adjusted_volume=_opt_float(raw, "tlmAdjustedVolume", context),
        tlm_adjusted_cost=_opt_float(raw, "tlmAdjustedCost", context),
    )


def _data_array(payload: Any, url_hint: str) -> list[Any]:
    if not isinstance(payload, dict) or "data" not in payload:
        raise ElexonSchemaError(
            f"{url_hint}: expected an object with 'data', got {str(payload)[:80]}"
        )
    data = payload["data"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise ElexonSchemaError(f"{url_hint}: 'data' is {type(data).__name__}, expected an array")
    return data


def parse_stack_response(
    payload: Any,
    settlement_date: date,
    period: int,
    keep: Callable[[str | None], bool] | None = None,
) -> tuple[list[StackLine], int]:
    """Parse a stack response; return the kept lines and the number of lines in the stack.

    Every line must belong to the requested date and period. Lines whose BM unit ``keep``
    rejects (non-wind units, say) are checked for their shape only, not parsed field by field.
    """
    hint = f"stack {settlement_date.isoformat()} period {period}"
    data = _data_array(payload, hint)
    day = settlement_date.isoformat()
    lines: list[StackLine] = []
    for index, raw in enumerate(data):
        context = f"{hint} line {index}"
        if keep is not None and isinstance(raw, dict) and not keep(raw.get("id")):
            same_day = str(raw.get("settlementDate", ""))[:10] == day
            if not same_day or raw.get("settlementPeriod") != period:
                raise ElexonSchemaError(f"{context} is for another date or period")
            _req_float(raw, "volume", context)
            continue
        line = parse_stack_line(raw, context)
        if line.settlement_date != settlement_date or line.settlement_period != period:
            raise ElexonSchemaError(
                f"{hint}: a line is for {line.settlement_date} period {line.settlement_period}"
            )
        lines.append(line)
    return lines, len(data)


def parse_acceptance_volumes(payload: Any, settlement_date: date) -> list[AcceptanceVolume]:
    hint = f"acceptance volumes {settlement_date.isoformat()}"
    out: list[AcceptanceVolume] = []
    for index, raw in enumerate(_data_array(payload, hint)):
        context = f"{hint} item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(f"{context} is not an object")
        out.append(
            AcceptanceVolume(
                settlement_date=_req_date(raw, "settlementDate", context),
                settlement_period=_req_int(raw, "settlementPeriod", context),
                bm_unit_id=_opt_str(raw, "bmUnit", context),
                acceptance_id=_opt_int(raw, "acceptanceId", context),
                total_volume_accepted=_opt_float(raw, "totalVolumeAccepted", context),
            )
        )
    return out


def parse_bm_units(payload: Any) -> list[dict[str, Any]]:
    """The BM unit list is a bare array; entries with an empty ``elexonBmUnit`` are dropped."""
    if not isinstance(payload, list):
        raise ElexonSchemaError(f"bmunits: expected an array, got {type(payload).__name__}")
    units: list[dict[str, Any]] = []
    for index, raw in enumerate(payload):
        context = f"bmunits item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(f"{context} is not an object")
        for key in ("elexonBmUnit", "fuelType", "leadPartyName", "generationCapacity"):
            _opt_str(raw, key, context)
        if raw.get("elexonBmUnit"):
            units.append(raw)
    return units


@dataclass(frozen=True)
class PeriodResult:
    """The outcome of fetching one period: its lines, or the error that stopped it."""

    settlement_period: int
    lines: tuple[StackLine, ...] = ()
    error: SourceError | None = None
    fetched_at: datetime | None = None
    stack_line_count: int = 0  # lines in the period's stack, kept or not

    @property
    def ok(self) -> bool:
        return self.error is None


class ElexonClient(JsonHttpClient):
    """Async client for the Insights endpoints CurtailCoin uses."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ElexonClient:
        options: dict[str, Any] = {
            "concurrency": settings.concurrency,
            "requests_per_second": settings.requests_per_second,
            "timeout_s": settings.request_timeout_s,
            "policy": RetryPolicy(
                max_tries=settings.max_tries,
                max_time_s=settings.max_retry_time_s,
                backoff_base_s=settings.backoff_base_s,
                backoff_max_s=settings.backoff_max_s,
            ),
        }
        options.update(overrides)
        return cls(settings.elexon_base_url, **options)

    async def fetch_stack(
        self,
        settlement_date: date,
        period: int,
        bid_offer: str = "bid",
        keep: Callable[[str | None], bool] | None = None,
    ) -> tuple[list[StackLine], int]:
        """One period's stack: the lines of units ``keep`` accepts, and the stack's line count."""
        check_period(settlement_date, period)
        payload = await self.get_json(
            f"/balancing/settlement/stack/all/{bid_offer}/{settlement_date.isoformat()}/{period}"
        )
        return parse_stack_response(payload, settlement_date, period, keep)

    async def fetch_stack_period(
        self, settlement_date: date, period: int, bid_offer: str = "bid"
    ) -> list[StackLine]:
        """All lines of one period's settlement stack. The period must exist that day."""
        lines, _ = await self.fetch_stack(settlement_date, period, bid_offer)
        return lines

    async def fetch_stack_periods(
        self,
        settlement_date: date,
        periods: Iterable[int],
        *,
        keep: Callable[[str | None], bool] | None = None,
    ) -> dict[int, PeriodResult]:
        """Fetch periods concurrently (under the cap and rate limit); errors are kept per period.

        ``keep`` selects the BM units whose lines are parsed and returned (default: all).
        """

        async def one(period: int) -> PeriodResult:
            try:
                lines, count = await self.fetch_stack(settlement_date, period, keep=keep)
            except SourceError as exc:
                return PeriodResult(period, error=exc)
            return PeriodResult(
                period, tuple(lines), fetched_at=datetime.now(UTC), stack_line_count=count
            )

        results = await asyncio.gather(*(one(p) for p in periods))
        return {result.settlement_period: result for result in results}

    async def fetch_acceptance_volumes(self, settlement_date: date) -> list[AcceptanceVolume]:
        payload = await self.get_json(
            f"/balancing/settlement/acceptance/volumes/all/bid/{settlement_date.isoformat()}"
        )
        return parse_acceptance_volumes(payload, settlement_date)

    async def fetch_bm_units(self) -> list[dict[str, Any]]:
        return parse_bm_units(await self.get_json("/reference/bmunits/all"))
