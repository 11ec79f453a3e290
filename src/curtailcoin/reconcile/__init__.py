"""Reconciliation: keep the database complete, fresh and consistent with Elexon.

* :mod:`.status` — *incomplete*, *missing*, *stale*, *pending* and *summary mismatch*
  counted set-based over any date range (``get_reconciliation_status``; what each means:
  :mod:`.report`), read by :mod:`.aggregates` and checked by :mod:`.period_scan`,
  :mod:`.calc_check`, :mod:`.summary_check`, :mod:`.farm_day_check`, :mod:`.farm_month_check`;
* :mod:`.source` — the source drift check against Elexon, every period of a date;
* :mod:`.fix` — what fixes what (reingest, recalculate, resummarise), under a per-date lock;
* :mod:`.daily` — the seed's ``daily_reconciliation_check.ts``;
* :mod:`.unified` — the seed's ``unified_reconciliation.ts``;
* :mod:`.checkpoints`, :mod:`.locks`, :mod:`.retry` — resumability, concurrency, errors.

Names are resolved on first use (PEP 562): importing one submodule (the per-date lock, say)
does not load the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_HOMES: dict[str, str] = {
    "DateLocks": "locks",
    "DateOutcome": "fix",
    "DateReport": "report",
    "ReconcileContext": "fix",
    "ReconciliationStatus": "report",
    "RunSummary": "unified",
    "analyze_reconciliation_status": "unified",
    "check_date_reconciliation_status": "status",
    "find_dates_with_missing_calculations": "unified",
    "fix_date_comprehensive": "fix",
    "get_reconciliation_status": "status",
    "is_timeout_error": "retry",
    "load_checkpoint": "checkpoints",
    "process_critical_date": "fix",
    "process_date": "fix",
    "process_date_range": "unified",
    "process_dates": "unified",
    "reconcile_all": "unified",
    "reset_checkpoint": "checkpoints",
    "run_daily_check": "daily",
    "save_checkpoint": "checkpoints",
    "spot_fix": "fix",
    "with_retry": "retry",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
