"""Scheduled and queued work: ``curtailcoin worker``, ``curtailcoin jobs``, the backfill's queue.

* :mod:`~curtailcoin.jobs.schedule` — the schedule in Europe/London time (pure functions);
* :mod:`~curtailcoin.jobs.work` — what each job does (shared by both backends);
* :mod:`~curtailcoin.jobs.app` — the procrastinate app on PostgreSQL (tasks, periodic, retry);
* :mod:`~curtailcoin.jobs.runner` — the PostgreSQL worker and its stalled-job sweeper;
* :mod:`~curtailcoin.jobs.local` — the in-process scheduler used on SQLite;
* :mod:`~curtailcoin.jobs.status` — what ``curtailcoin jobs status`` reports.
"""
