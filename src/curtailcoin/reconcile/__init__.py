"""Reconciliation: keep the database complete, fresh and consistent with Elexon.

* :mod:`.definitions` — set-based SQL for *incomplete*, *missing*, *stale*, *pending* and
  *summary mismatch* over any date range (``get_reconciliation_status``);
* :mod:`.source` — the source drift check against Elexon, every period of a date;
* :mod:`.fix` — what fixes what (reingest, recalculate, resummarise), under a per-date lock;
* :mod:`.daily` — the seed's ``daily_reconciliation_check.ts``;
* :mod:`.unified` — the seed's ``unified_reconciliation.ts``;
* :mod:`.checkpoints`, :mod:`.locks`, :mod:`.retry` — resumability, concurrency, errors.
"""

from curtailcoin.reconcile.checkpoints import load_checkpoint, reset_checkpoint, save_checkpoint
from curtailcoin.reconcile.daily import run_daily_check
from curtailcoin.reconcile.definitions import (
    DateReport,
    ReconciliationStatus,
    check_date_reconciliation_status,
    get_reconciliation_status,
)
from curtailcoin.reconcile.fix import (
    DateOutcome,
    ReconcileContext,
    fix_date_comprehensive,
    process_critical_date,
    process_date,
    spot_fix,
)
from curtailcoin.reconcile.locks import DateLocks
from curtailcoin.reconcile.retry import is_timeout_error, with_retry
from curtailcoin.reconcile.unified import (
    RunSummary,
    analyze_reconciliation_status,
    find_dates_with_missing_calculations,
    process_date_range,
    process_dates,
    reconcile_all,
)

__all__ = [
    "DateLocks",
    "DateOutcome",
    "DateReport",
    "ReconcileContext",
    "ReconciliationStatus",
    "RunSummary",
    "analyze_reconciliation_status",
    "check_date_reconciliation_status",
    "find_dates_with_missing_calculations",
    "fix_date_comprehensive",
    "get_reconciliation_status",
    "is_timeout_error",
    "load_checkpoint",
    "process_critical_date",
    "process_date",
    "process_date_range",
    "process_dates",
    "reconcile_all",
    "reset_checkpoint",
    "run_daily_check",
    "save_checkpoint",
    "spot_fix",
    "with_retry",
]
