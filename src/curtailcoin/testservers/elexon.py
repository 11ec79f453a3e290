"""A local Elexon Insights API: settlement stacks, acceptance volumes and BM units.

Base URL ``http://127.0.0.1:PORT/bmrs/api/v1`` (the real one is
``https://data.elexon.co.uk/bmrs/api/v1``). Routes:

* ``GET /balancing/settlement/stack/all/{bid|offer}/{YYYY-MM-DD}/{period}``
* ``GET /balancing/settlement/acceptance/volumes/all/{bid|offer}/{YYYY-MM-DD}[/{period}]``
  (optional repeated ``bmUnit`` query filter)
* ``GET /reference/bmunits/all``
* ``GET /generation/actual/per-type/wind-and-solar?from&to[&settlementPeriodFrom&…To]``
  (AGWS, MW) and ``GET /datasets/B1610/stream?from&to[&settlementPeriodFrom&…To][&bmUnit…]``
  (metered MWh, a bare array): wind generation consistent with the stacks
  (:mod:`.generation`)

Answers follow Elexon's OpenAPI document (``{"data": [...], "metadata": {"datasets": [...]}}``;
a bare array for BM units). Errors are ASP.NET-style ``application/problem+json`` bodies:
400 for a malformed date, side or period, 404 for a period outside ``1..periods_in_day``
or an unknown path. Dates after the server's ``today`` (and periods of today that have not
ended yet) answer ``{"data": [], ...}``; B1610 of a date answers ``[]`` until Elexon would have
published it (``b1610_lag_days``, 5 by default, after the day ends).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any

from curtailcoin.settlement import periods_in_day, periods_started, settlement_today
from curtailcoin.testservers.faults import Fault
from curtailcoin.testservers.generation import B1610_LAG_DAYS, GenerationModel, generation_answer
from curtailcoin.testservers.headline import DayHeadline, day_headline, period_headline
from curtailcoin.testservers.lines import StackLine
from curtailcoin.testservers.responses import Query, Response, format_retry_after, json_response
from curtailcoin.testservers.server import BaseTestServer
from curtailcoin.testservers.stacks import DAY_KINDS, SIDES, StackGenerator
from curtailcoin.testservers.units import load_bmunits_snapshot, wind_unit_ids

__all__ = ["BM_UNIT_FIELDS", "ElexonTestServer"]

#: The 22 fields of ``BmUnitData``.
BM_UNIT_FIELDS: tuple[str, ...] = (
    "nationalGridBmUnit",
    "elexonBmUnit",
    "eic",
    "fuelType",
    "leadPartyName",
    "bmUnitType",
    "fpnFlag",
    "bmUnitName",
    "leadPartyId",
    "demandCapacity",
    "generationCapacity",
    "productionOrConsumptionFlag",
    "transmissionLossFactor",
    "workingDayCreditAssessmentImportCapability",
    "nonWorkingDayCreditAssessmentImportCapability",
    "workingDayCreditAssessmentExportCapability",
    "nonWorkingDayCreditAssessmentExportCapability",
    "creditQualifyingStatus",
    "demandInProductionFlag",
    "gspGroupId",
    "gspGroupName",
    "interconnectorId",
)

_PROBLEM_TYPES = {
    400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
    404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
    405: "https://tools.ietf.org/html/rfc9110#section-15.5.6",
    429: "https://tools.ietf.org/html/rfc6585#section-4",
    500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
    502: "https://tools.ietf.org/html/rfc9110#section-15.6.3",
    503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}
PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"

_STACK_RE = re.compile(
    r"^/balancing/settlement/stack/all/(?P<side>[^/]+)/(?P<date>[^/]+)/(?P<period>[^/]+)/?$"
)
_BOAV_RE = re.compile(
    r"^/balancing/settlement/acceptance/volumes/all/(?P<side>[^/]+)/(?P<date>[^/]+)"
    r"(?:/(?P<period>[^/]+))?/?$"
)
_BMUNITS_PATH = "/reference/bmunits/all"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_RE = re.compile(r"^[+-]?\d{1,9}$")


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        raise TypeError("pass a settlement date, not a datetime")
    if isinstance(value, date):
        return value
    if not _DATE_RE.match(value):
        raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD")
    return date.fromisoformat(value)


class ElexonTestServer(BaseTestServer):
    """A deterministic local Elexon Insights API with injectable faults.

    ``seed`` selects the generated world; ``now`` fixes the server clock (default: the real
    clock), which decides what ``today`` is and which dates' B1610 is published yet
    (``b1610_lag_days`` after the day ends; 0: at once); ``bm_units`` replaces the packaged
    snapshot.
    """

    base_path = "/bmrs/api/v1"
    name = "Elexon test server"

    def __init__(
        self,
        *,
        seed: int = 1,
        latency_s: float = 0.0,
        timeout_s: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        now: datetime | None = None,
        bm_units: Sequence[Mapping[str, Any]] | None = None,
        verbose: bool = False,
        b1610_lag_days: int = B1610_LAG_DAYS,
    ) -> None:
        super().__init__(
            host=host, port=port, latency_s=latency_s, timeout_s=timeout_s, verbose=verbose
        )
        self.seed = seed
        refs = bm_units if bm_units is not None else load_bmunits_snapshot()
        self._bm_units: list[dict[str, Any]] = [dict(u) for u in refs]
        self.generator = StackGenerator(seed, self._bm_units)
        self._lock = threading.Lock()
        self._kinds: dict[date, str] = {}
        self._revisions: dict[tuple[date, int], int] = {}
        self._now = now
        if b1610_lag_days < 0:
            raise ValueError(f"b1610_lag_days must be ≥ 0, not {b1610_lag_days}")
        self.b1610_lag_days = b1610_lag_days
        self.generation = GenerationModel(self)

    # -- clock -----------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now if self._now is not None else datetime.now(UTC)

    def set_now(self, now: datetime | None) -> None:
        """Fix the server clock (None: follow the real clock)."""
        if now is not None and now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._now = now

    @property
    def today(self) -> date:
        """Today's settlement date (Europe/London) by the server clock."""
        return settlement_today(self.now)

    def available_periods(self, settlement_date: date | str) -> int:
        """How many of the date's periods have data: all for past days, the ended ones today,
        none in the future."""
        d = _as_date(settlement_date)
        today = self.today
        if d > today:
            return 0
        if d == today:
            return periods_started(d, self.now)
        return periods_in_day(d)

    # -- scenario --------------------------------------------------------------------------

    def set_day(self, settlement_date: date | str, kind: str) -> None:
        """Force a day's kind: ``heavy``, ``light``, ``calm`` or ``empty`` (no lines at all)."""
        if kind not in DAY_KINDS:
            raise ValueError(f"day kind must be one of {', '.join(DAY_KINDS)}, not {kind!r}")
        with self._lock:
            self._kinds[_as_date(settlement_date)] = kind

    def day_kind(self, settlement_date: date | str) -> str:
        d = _as_date(settlement_date)
        with self._lock:
            forced = self._kinds.get(d)
        return forced if forced is not None else self.generator.natural_day_kind(d)

    def revise(self, settlement_date: date | str, periods: Iterable[int] | None = None) -> None:
        """Simulate a later settlement run of the date (or of some of its periods)."""
        d = _as_date(settlement_date)
        count = periods_in_day(d)
        chosen = list(range(1, count + 1)) if periods is None else list(periods)
        for p in chosen:
            if not 1 <= p <= count:
                raise ValueError(f"period {p} does not exist on {d}: allowed 1..{count}")
        with self._lock:
            for p in chosen:
                self._revisions[(d, p)] = self._revisions.get((d, p), 0) + 1

    def revision(self, settlement_date: date | str, period: int) -> int:
        with self._lock:
            return self._revisions.get((_as_date(settlement_date), period), 0)

    def fail_period(
        self,
        settlement_date: date | str,
        period: int,
        kind: str = "5xx",
        *,
        status: int = 503,
        retry_after_s: float = 1,
        times: int | None = None,
    ) -> Fault:
        """Make one period's stack (bid and offer) fail persistently (``times=None``).

        Remove it with ``server.faults.remove(fault)`` or ``server.faults.clear()``.
        """
        d = _as_date(settlement_date)
        pattern = rf"/balancing/settlement/stack/all/(bid|offer)/{d.isoformat()}/{period}/?$"
        return self.faults.add(
            kind, match=pattern, times=times, status=status, retry_after_s=retry_after_s
        )

    # -- BM units --------------------------------------------------------------------------

    @property
    def bm_units(self) -> list[dict[str, Any]]:
        """What ``/reference/bmunits/all`` answers (a copy)."""
        with self._lock:
            return [dict(u) for u in self._bm_units]

    def wind_unit_ids(self) -> set[str]:
        """Elexon ids of the WIND units the server currently lists."""
        return wind_unit_ids(self.bm_units)

    def add_bm_unit(
        self, unit: Mapping[str, Any], *, curtail: bool = True, since: date | str | None = None
    ) -> dict[str, Any]:
        """List a new BM unit (missing fields are null/false). A WIND unit with ``curtail``
        also gets curtailment lines on light and heavy days from ``since`` (default: always).
        Lines of every other unit are unchanged."""
        unknown = set(unit) - set(BM_UNIT_FIELDS)
        if unknown:
            raise ValueError(f"unknown BmUnitData fields {sorted(unknown)}")
        if not unit.get("elexonBmUnit"):
            raise ValueError("a BM unit needs an elexonBmUnit")
        entry: dict[str, Any] = dict.fromkeys(BM_UNIT_FIELDS)
        entry["creditQualifyingStatus"] = False
        entry["demandInProductionFlag"] = False
        entry.update(unit)
        with self._lock:
            self._bm_units = [
                u for u in self._bm_units if u.get("elexonBmUnit") != entry["elexonBmUnit"]
            ]
            self._bm_units.append(entry)
        if curtail and entry.get("fuelType") == "WIND":
            self.generator.add_wind_unit(entry, since=None if since is None else _as_date(since))
        return dict(entry)

    def remove_bm_unit(self, elexon_bm_unit: str) -> None:
        """Stop listing a unit (as when it is retired); its past stack lines stay."""
        with self._lock:
            self._bm_units = [u for u in self._bm_units if u.get("elexonBmUnit") != elexon_bm_unit]

    # -- data ------------------------------------------------------------------------------

    def _lines(self, d: date, period: int, side: str) -> list[StackLine]:
        count = periods_in_day(d)
        if not 1 <= period <= count:
            raise ValueError(
                f"settlement period {period} does not exist on {d.isoformat()}: allowed 1..{count}"
            )
        if period > self.available_periods(d):
            return []
        return self.generator.lines(d, period, side, self.day_kind(d), self.revision(d, period))

    def stack_lines(
        self, settlement_date: date | str, period: int, side: str = "bid"
    ) -> list[dict[str, Any]]:
        """Exactly the records the stack endpoint serves now (fresh dicts)."""
        d = _as_date(settlement_date)
        if side not in SIDES:
            raise ValueError(f"side must be bid or offer, not {side!r}")
        if not self._lines(d, period, side):
            return []
        return self.generator.records(d, period, side, self.day_kind(d), self.revision(d, period))

    def acceptance_volumes(
        self, settlement_date: date | str, side: str = "bid", period: int | None = None
    ) -> list[dict[str, Any]]:
        """Exactly the items the acceptance-volumes endpoint serves now."""
        d = _as_date(settlement_date)
        if side not in SIDES:
            raise ValueError(f"side must be bid or offer, not {side!r}")
        periods = range(1, periods_in_day(d) + 1) if period is None else [period]
        items: list[dict[str, Any]] = []
        kind = self.day_kind(d)
        for p in periods:
            if self._lines(d, p, side):
                items.extend(
                    self.generator.acceptance_volumes(d, p, side, kind, self.revision(d, p))
                )
        return items

    def expected_headline(
        self,
        settlement_date: date | str,
        wind_unit_ids: Iterable[str] | None = None,
        *,
        so_only: bool = True,
    ) -> DayHeadline:
        """The oracle: headline curtailment computed straight from the served lines.

        A record is a bid line whose ``id`` is in the wind set (default: the WIND units the
        server lists), with ``soFlag`` true (unless ``so_only=False``) and ``volume < 0``.
        """
        d = _as_date(settlement_date)
        wind = set(wind_unit_ids) if wind_unit_ids is not None else self.wind_unit_ids()
        lead = {
            str(u["elexonBmUnit"]): str(u.get("leadPartyName") or u["elexonBmUnit"])
            for u in self.bm_units
            if u.get("elexonBmUnit")
        }
        periods = {
            p: period_headline(p, self._lines(d, p, "bid"), wind, so_only=so_only)
            for p in range(1, periods_in_day(d) + 1)
        }
        return day_headline(d, periods, lead)

    # -- HTTP ------------------------------------------------------------------------------

    def error_response(
        self,
        status: int,
        *,
        detail: str | None = None,
        retry_after_s: float | None = None,
        errors: Mapping[str, list[str]] | None = None,
    ) -> Response:
        body: dict[str, Any] = {
            "type": _PROBLEM_TYPES.get(status, "https://tools.ietf.org/html/rfc9110"),
            "title": "One or more validation errors occurred."
            if errors
            else HTTPStatus(status).phrase,
            "status": status,
        }
        if detail:
            body["detail"] = detail
        if errors:
            body["errors"] = {k: list(v) for k, v in errors.items()}
        body["traceId"] = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-00"
        resp = json_response(body, status, content_type=PROBLEM_CONTENT_TYPE)
        if retry_after_s is not None:
            resp.headers["Retry-After"] = format_retry_after(retry_after_s)
        return resp

    def _invalid(self, name: str, value: str) -> Response:
        return self.error_response(400, errors={name: [f"The value '{value}' is not valid."]})

    def _parse(
        self, side: str, raw_date: str, raw_period: str | None
    ) -> tuple[date, int | None] | Response:
        if side not in SIDES:
            return self._invalid("bidOffer", side)
        try:
            d = _as_date(raw_date)
        except ValueError:
            return self._invalid("settlementDate", raw_date)
        if raw_period is None:
            return d, None
        if not _INT_RE.match(raw_period):
            return self._invalid("settlementPeriod", raw_period)
        period = int(raw_period)
        count = periods_in_day(d)
        if not 1 <= period <= count:
            return self.error_response(
                404,
                detail=f"Settlement period {period} does not exist on {d.isoformat()} "
                f"(the date has {count} settlement periods).",
            )
        return d, period

    def handle(self, method: str, path: str, query: Query) -> Response:
        if path == _BMUNITS_PATH:
            return json_response(self.bm_units)
        generation = generation_answer(self, path, query)
        if generation is not None:
            return generation
        m = _STACK_RE.match(path)
        if m:
            parsed = self._parse(m["side"], m["date"], m["period"])
            if isinstance(parsed, Response):
                return parsed
            d, period = parsed
            assert period is not None
            data = self.stack_lines(d, period, m["side"])
            return _wrapped(data, "ISPSTACK")
        m = _BOAV_RE.match(path)
        if m:
            parsed = self._parse(m["side"], m["date"], m["period"])
            if isinstance(parsed, Response):
                return parsed
            d, period = parsed
            items = self.acceptance_volumes(d, m["side"], period)
            wanted = {u for v in query.get("bmUnit", []) for u in v.split(",") if u}
            if wanted:
                items = [
                    i for i in items if i["bmUnit"] in wanted or i["nationalGridBmUnit"] in wanted
                ]
            return _wrapped(items, "BOAV")
        return self.error_response(404, detail=f"No route matches {self.base_path}{path}.")


def _wrapped(data: list[dict[str, Any]], dataset: str) -> Response:
    body = json.dumps(
        {"data": data, "metadata": {"datasets": [dataset]}}, separators=(",", ":")
    ).encode()
    return Response(200, body)
