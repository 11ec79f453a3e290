"""Reconciliation: keep the database complete, fresh and consistent with Elexon.

* :mod:`.status` — *incomplete*, *missing*, *stale*, *pending* and *summary mismatch*
  counted set-based over any date range (``get_reconciliation_status``; what each means:
  :mod:`.report`), read by :mod:`.aggregates` and checked by :mod:`.period_scan`,
  :mod:`.calc_check`, :mod:`.summary_check`, :mod:`.farm_day_check`, :mod:`.farm_month_check`;
* :mod:`.source` — the source drift check against Elexon, every period of a date;
* :mod:`.fix_date` — what fixes what on one date (refetch; :mod:`.recalculate`: recalculate,
  resummarise), under the date's lock, retried when transient;
* :mod:`.critical`, :mod:`.spot_fix` — the careful reprocessing of a date, one farm-period;
* :mod:`.runner` — dates in flight and the checkpoint; :mod:`.commands` — the seed's
  ``unified_reconciliation.ts`` commands; :mod:`.analyze` — causes and fixing commands;
* :mod:`.context`, :mod:`.outcome` — what a run shares, what it did;
* :mod:`.daily` — the seed's ``daily_reconciliation_check.ts``;
* :mod:`.checkpoints`, :mod:`.retry` — resumability, errors (the per-date lock:
  :mod:`curtailcoin.db.locks`).

Names are resolved on first use (PEP 562): importing one submodule (the checkpoints, say)
does not load the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES: dict[str, str] = {
    "DateOutcome": "outcome",
    "DateReport": "report",
    "ReconcileContext": "context",
    "ReconciliationStatus": "report",
    "RunSummary": "outcome",
    "analyze_reconciliation_status": "analyze",
    "check_date_reconciliation_status": "status",
    "find_dates_with_missing_calculations": "commands",
    "fix_date_comprehensive": "fix_date",
    "get_reconciliation_status": "status",
    "is_timeout_error": "retry",
    "load_checkpoint": "checkpoints",
    "process_critical_date": "critical",
    "process_date": "fix_date",
    "process_date_range": "commands",
    "process_dates": "runner",
    "reconcile_all": "commands",
    "reset_checkpoint": "checkpoints",
    "run_daily_check": "daily",
    "save_checkpoint": "checkpoints",
    "spot_fix": "spot_fix",
    "with_retry": "retry",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
