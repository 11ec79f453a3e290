"""Reconciliation: keep the database complete, fresh and consistent with Elexon.

* :mod:`.definitions` — set-based SQL for *incomplete*, *missing*, *stale*, *pending* and
  *summary mismatch* over any date range (``get_reconciliation_status``);
* :mod:`.source` — the source drift check against Elexon, every period of a date;
* :mod:`.fix` — what fixes what (reingest, recalculate, resummarise), under a per-date lock;
* :mod:`.daily` — the seed's ``daily_reconciliation_check.ts``;
* :mod:`.unified` — the seed's ``unified_reconciliation.ts``;
* :mod:`.checkpoints`, :mod:`.locks`, :mod:`.retry` — resumability, concurrency, errors.
"""
