"""The Elexon Insights API: settlement bid stacks, acceptance volumes and BM units.

Parsing is strict (:mod:`.elexon_schema`, :mod:`.elexon_stack`): an answer that does not match
Elexon's documented schema is an ``ElexonSchemaError``, a permanent failure of that request (a
schema change must be noticed, not swallowed).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Container, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from curtailcoin.config import Settings
from curtailcoin.settlement import check_period
from curtailcoin.sources.elexon_schema import (
    ElexonSchemaError,
    data_array,
    opt_float,
    opt_int,
    opt_str,
    req_date,
    req_int,
)
from curtailcoin.sources.elexon_stack import (
    STACK_LINE_KEYS,
    StackLine,
    parse_stack_line,
    parse_stack_response,
)
from curtailcoin.sources.http import (
    JsonHttpClient,
    RetriesExhaustedError,
    RetryPolicy,
    SourceError,
    UnreachableSourceError,
)

__all__ = [
    "STACK_LINE_KEYS",
    "AcceptanceVolume",
    "ElexonClient",
    "ElexonSchemaError",
    "PeriodResult",
    "StackLine",
    "parse_acceptance_volumes",
    "parse_bm_units",
    "parse_stack_line",
    "parse_stack_response",
]


@dataclass(frozen=True, slots=True)
class AcceptanceVolume:
    """Acceptance volume (BOAV) of one BM unit, period and acceptance: the cross-check source."""

    settlement_date: date
    settlement_period: int
    bm_unit_id: str | None
    acceptance_id: int | None
    total_volume_accepted: float | None


def parse_acceptance_volumes(payload: Any, settlement_date: date) -> list[AcceptanceVolume]:
    hint = f"acceptance volumes {settlement_date.isoformat()}"
    out: list[AcceptanceVolume] = []
    for index, raw in enumerate(data_array(payload, hint)):
        context = f"{hint} item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(context, "item is not an object")
        out.append(
            AcceptanceVolume(
                settlement_date=req_date(raw, "settlementDate", context),
                settlement_period=req_int(raw, "settlementPeriod", context),
                bm_unit_id=opt_str(raw, "bmUnit", context),
                acceptance_id=opt_int(raw, "acceptanceId", context),
                total_volume_accepted=opt_float(raw, "totalVolumeAccepted", context),
            )
        )
    return out


def parse_bm_units(payload: Any) -> list[dict[str, Any]]:
    """The BM unit list is a bare array; entries with an empty ``elexonBmUnit`` are dropped."""
    if not isinstance(payload, list):
        raise ElexonSchemaError("bmunits", f"expected an array, got {type(payload).__name__}")
    units: list[dict[str, Any]] = []
    for index, raw in enumerate(payload):
        context = f"bmunits item {index}"
        if not isinstance(raw, dict):
            raise ElexonSchemaError(context, "item is not an object")
        for key in ("elexonBmUnit", "fuelType", "leadPartyName", "generationCapacity"):
            opt_str(raw, key, context)
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

    @property
    def cause(self) -> str | None:
        """The error without what is specific to this period: equal for periods failing alike."""
        error = self.error
        if error is None:
            return None
        if isinstance(error, ElexonSchemaError):
            return error.cause
        text = str(error.last) if isinstance(error, RetriesExhaustedError) else str(error)
        text = re.sub(rf"/{self.settlement_period}\b(?!-)", "/{period}", text)
        if isinstance(error, RetriesExhaustedError):
            return f"gave up after {error.tries} tries: {text}"
        return text


class ElexonClient(JsonHttpClient):
    """Async client for the Insights endpoints CurtailCoin uses."""

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ElexonClient:
        options: dict[str, Any] = {
            "concurrency": settings.concurrency,
            "requests_per_second": settings.requests_per_second,
            "timeout_s": settings.request_timeout_s,
            "setting": "CURTAILCOIN_ELEXON_BASE_URL",
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
        keep_units: Awaitable[Container[str | None]] | None = None,
    ) -> tuple[list[StackLine], int]:
        """One period's stack: the lines of units ``keep`` accepts, and the stack's line count.

        ``keep_units`` (a future, awaited by every period) is the units to keep when they are
        still being read (a registry refresh): the request goes out at once, the parse waits.
        """
        check_period(settlement_date, period)
        payload = await self.get_json(
            f"/balancing/settlement/stack/all/{bid_offer}/{settlement_date.isoformat()}/{period}"
        )
        if keep_units is not None:
            keep = (await keep_units).__contains__
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
        keep_units: Awaitable[Container[str | None]] | None = None,
    ) -> dict[int, PeriodResult]:
        """Fetch periods concurrently (under the cap and rate limit); errors are kept per period.

        ``keep`` selects the BM units whose lines are parsed and returned (default: all), or
        ``keep_units``, a future of the units (see :meth:`fetch_stack`). A host
        that cannot be reached at all is not a per-period failure: ``UnreachableSourceError``
        is raised (one message for the run).
        """

        async def one(period: int) -> PeriodResult:
            try:
                lines, count = await self.fetch_stack(
                    settlement_date, period, keep=keep, keep_units=keep_units
                )
            except SourceError as exc:
                return PeriodResult(period, error=exc)
            return PeriodResult(
                period, tuple(lines), fetched_at=datetime.now(UTC), stack_line_count=count
            )

        results = await asyncio.gather(*(one(p) for p in periods))
        for result in results:
            if isinstance(result.error, UnreachableSourceError):
                raise result.error
        return {result.settlement_period: result for result in results}

    async def fetch_acceptance_volumes(self, settlement_date: date) -> list[AcceptanceVolume]:
        payload = await self.get_json(
            f"/balancing/settlement/acceptance/volumes/all/bid/{settlement_date.isoformat()}"
        )
        return parse_acceptance_volumes(payload, settlement_date)

    async def fetch_bm_units(self) -> list[dict[str, Any]]:
        return parse_bm_units(await self.get_json("/reference/bmunits/all"))
