"""``reconcile analyze`` (the seed's ``analyzeReconciliationStatus``): each kind of problem a
status holds, how much and where, its likely cause and the exact commands that fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text

from curtailcoin.db.curtailment_tables import settlement_periods
from curtailcoin.db.dialect import is_postgresql
from curtailcoin.ingest import FAILED, FETCHED_INCOMPLETE
from curtailcoin.reconcile.report import DateReport, ReconciliationStatus
from curtailcoin.reference import load_timeline
from curtailcoin.settlement import settlement_today


@dataclass
class Finding:
    """One kind of problem: how much, where, the likely cause and the commands that fix it."""

    kind: str
    count: int
    dates: list[str]
    cause: str
    commands: list[str]
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "count": self.count,
            "dates": self.dates,
            "likely_cause": self.cause,
            "commands": self.commands,
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class Analysis:
    """The seed's ``analyzeReconciliationStatus``: what is wrong, why, and what to run."""

    status: ReconciliationStatus
    findings: list[Finding] = field(default_factory=list)
    long_running_queries: int | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        status = self.status.to_json()
        status.pop("per_date", None)
        status.pop("summary_mismatch_details", None)
        return {
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
            "long_running_queries": self.long_running_queries,
            "status": status,
        }


def date_runs(dates: Sequence[date]) -> list[tuple[date, date]]:
    """Consecutive dates grouped: ``[(first, last), …]``."""
    runs: list[tuple[date, date]] = []
    for d in sorted(set(dates)):
        if runs and d == runs[-1][1] + timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def fix_commands(dates: Sequence[date], *, source: bool = True, limit: int = 4) -> list[str]:
    """The commands that fix ``dates``: one per date or run of dates, else ``reconcile run``."""
    runs = date_runs(dates)
    flag = "" if source else " --no-source"
    if not runs:
        return []
    if len(runs) > limit:
        return ["curtailcoin reconcile run"]
    out = []
    for a, b in runs:
        if a == b:
            out.append(f"curtailcoin reconcile date {a.isoformat()}{flag}")
        else:
            out.append(f"curtailcoin reconcile range {a.isoformat()} {b.isoformat()}{flag}")
    return out


def _iso(dates: Sequence[date], limit: int = 20) -> list[str]:
    return [d.isoformat() for d in sorted(dates)[:limit]]


def _dates(reports: Sequence[DateReport]) -> list[date]:
    return [r.settlement_date for r in reports]


def _fetch_errors(conn: Connection, dates: Sequence[date]) -> dict[str, list[str]]:
    """Stored reasons of failed and fetched-incomplete periods, per date (why it is incomplete)."""
    if not dates:
        return {}
    p = settlement_periods.c
    rows = conn.execute(
        select(p.settlement_date, p.settlement_period, p.error).where(
            p.settlement_date.between(min(dates), max(dates)),
            p.fetch_status.in_((FAILED, FETCHED_INCOMPLETE)),
        )
    ).all()
    out: dict[str, list[str]] = {}
    for d, period, error in rows:
        out.setdefault(d.isoformat(), []).append(f"period {period}: {(error or '')[:200]}")
    return out


def _long_running_queries(conn: Connection) -> int | None:
    """Queries running for more than 5 minutes (PostgreSQL; reported, never terminated)."""
    if not is_postgresql(conn):
        return None
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND pid <> pg_backend_pid() AND now() - query_start > interval '5 minutes'"
            )
        ).scalar_one()
    )


def _incomplete(conn: Connection, reports: Sequence[DateReport], today: date) -> Finding | None:
    incomplete = [r for r in reports if r.incomplete]
    if not incomplete:
        return None
    never = [r.settlement_date for r in incomplete if r.periods_fetched == 0]
    partly = [r.settlement_date for r in incomplete if r.periods_fetched > 0]
    errors = _fetch_errors(conn, _dates(incomplete))
    causes = []
    if never:
        causes.append(
            f"{len(never)} date(s) never ingested (no period fetched: the ingestion was not "
            "running, or a backfill stopped)"
        )
    if partly:
        causes.append(
            f"{len(partly)} date(s) partly fetched (a fetch failed after its retries, or "
            "the process stopped mid-way)"
        )
    if any(r.settlement_date == today for r in incomplete):
        causes.append("today's latest periods may simply not be published yet")
    commands = fix_commands(_dates(incomplete), source=False)
    troubled = sorted(errors)[:3]
    commands += [f"curtailcoin reconcile critical {d}" for d in troubled]
    return Finding(
        "incomplete",
        len(incomplete),
        _iso(_dates(incomplete)),
        "; ".join(causes),
        commands,
        {
            "unfetched_periods": sum(len(r.unfetched_periods) for r in incomplete),
            "fetch_errors": {d: e[:3] for d, e in sorted(errors.items())[:5]},
        },
    )


def _source_drift(reports: Sequence[DateReport]) -> Finding | None:
    drift = [r for r in reports if r.drift_periods]
    if not drift:
        return None
    return Finding(
        "source_drift",
        sum(len(r.drift_periods or ()) for r in drift),
        _iso(_dates(drift)),
        "Elexon's answer changed since the fetch (a later settlement run revised the "
        "data) beyond the tolerance",
        fix_commands(_dates(drift)),
    )


def _period_totals(reports: Sequence[DateReport]) -> Finding | None:
    totals = [r for r in reports if r.period_total_mismatches]
    if not totals:
        return None
    return Finding(
        "period_totals",
        sum(len(r.period_total_mismatches) for r in totals),
        _iso(_dates(totals)),
        "curtailment records were changed after their period was fetched (a manual "
        "edit, or a tool writing records outside the pipeline); only a refetch knows the "
        "right values",
        fix_commands(_dates(totals), source=False),
        {
            "periods": {
                r.settlement_date.isoformat(): r.period_total_mismatches[:10] for r in totals[:5]
            }
        },
    )


def _stale_conditions(reports: Sequence[DateReport]) -> Finding | None:
    conditions = [r for r in reports if r.stale_condition_periods]
    if not conditions:
        return None
    return Finding(
        "stale_conditions",
        sum(len(r.stale_condition_periods) for r in conditions),
        _iso(_dates(conditions)),
        "the difficulty epoch table changed since these periods were stored (a "
        "mempool.space refresh replaced estimated epoch times or supplied a difficulty "
        "that was pending)",
        fix_commands(_dates(conditions), source=False),
    )


def _missing(reports: Sequence[DateReport]) -> Finding | None:
    missing = [r for r in reports if r.missing]
    if not missing:
        return None
    whole = [r for r in missing if r.missing == r.expected_calculations]
    causes = []
    if whole:
        causes.append(
            f"{len(whole)} date(s) have no calculation at all (reingested with "
            "--skip-bitcoin, or a pending difficulty that is known now)"
        )
    if len(whole) < len(missing):
        causes.append(
            "some farm-periods lack rows (rows deleted, a tracked model added, or a "
            "calculation interrupted by an old tool)"
        )
    return Finding(
        "missing",
        sum(r.missing for r in missing),
        _iso(_dates(missing)),
        "; ".join(causes),
        fix_commands(_dates(missing), source=False),
        {"periods": {r.settlement_date.isoformat(): r.missing_periods[:10] for r in missing[:5]}},
    )


def _stale(reports: Sequence[DateReport]) -> Finding | None:
    stale = [r for r in reports if r.stale]
    if not stale:
        return None
    return Finding(
        "stale",
        sum(r.stale for r in stale),
        _iso(_dates(stale)),
        "calculations no longer follow from their inputs: the records' energy changed "
        "(a revision stored with --skip-bitcoin, or an edit), the period's difficulty or "
        "subsidy changed, or a model's figures were edited",
        fix_commands(_dates(stale), source=False),
        {"periods": {r.settlement_date.isoformat(): r.stale_periods[:10] for r in stale[:5]}},
    )


def _summary_mismatch(status: ReconciliationStatus) -> Finding | None:
    if not status.summary_details:
        return None
    tables: dict[str, int] = {}
    for m in status.summary_details:
        tables[m.table] = tables.get(m.table, 0) + 1
    summary_dates = sorted({m.settlement_date for m in status.summary_details if m.settlement_date})
    return Finding(
        "summary_mismatch",
        len(status.summary_details),
        _iso(summary_dates),
        "summary rows differ from the sums of their base rows (edited by hand, written "
        "by another tool, or a base changed without its summaries being rebuilt)",
        fix_commands(summary_dates, source=False),
        {"tables": tables, "rows": [m.to_json() for m in status.summary_details[:10]]},
    )


def _suspect(status: ReconciliationStatus) -> Finding | None:
    if not status.suspects:
        return None
    return Finding(
        "suspect",
        len(status.suspects),
        _iso(status.suspect_dates),
        "Elexon's latest answer would remove most of the stored data (every period "
        "empty, every payment zero, or a measure falling by more than "
        "CURTAILCOIN_SHRINK_MAX_DROP): the drift guard kept the stored data. Check the "
        "source; apply the answer only if it is right",
        [s.accept_command for s in status.suspects[:4]],
        {"reasons": {s.settlement_date.isoformat(): s.reason for s in status.suspects}},
    )


def _pending(conn: Connection, reports: Sequence[DateReport]) -> Finding | None:
    pending = [r for r in reports if r.pending]
    if not pending:
        return None
    latest = load_timeline(conn).latest_known_start()
    return Finding(
        "pending",
        sum(r.pending for r in pending),
        _iso(_dates(pending)),
        "no known difficulty for these periods yet (the latest epoch with a known start "
        f"began {latest.isoformat() if latest else 'never'}); they are calculated as "
        "soon as the epoch table knows them — never with a default",
        [
            "curtailcoin difficulty refresh",
            *fix_commands(_dates(pending), source=False),
        ],
    )


def analyze_reconciliation_status(
    conn: Connection,
    status: ReconciliationStatus,
    *,
    now: datetime | None = None,
) -> Analysis:
    """Explain ``status``: each problem kind with its likely cause and the fixing commands."""
    reports = status.per_date
    found = [
        _incomplete(conn, reports, settlement_today(now)),
        _source_drift(reports),
        _period_totals(reports),
        _stale_conditions(reports),
        _missing(reports),
        _stale(reports),
        _summary_mismatch(status),
        _suspect(status),
        _pending(conn, reports),
    ]
    return Analysis(
        status,
        [f for f in found if f is not None],
        long_running_queries=_long_running_queries(conn),
    )
