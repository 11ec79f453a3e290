"""What ``curtailcoin jobs status`` reports: the queue on PostgreSQL, the local state on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from curtailcoin.db.dialect import is_sqlite

#: procrastinate status → the words the CLI uses
STATUS_WORDS = {
    "todo": "queued",
    "doing": "running",
    "failed": "failed",
    "succeeded": "done",
    "cancelled": "cancelled",
    "aborting": "aborting",
    "aborted": "aborted",
}


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _args(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def queue_status(
    engine: Engine, *, stalled_after_s: float = 60.0, limit: int = 20
) -> dict[str, Any]:
    """Counts by status and task, running and failed jobs, workers (PostgreSQL)."""
    if is_sqlite(engine):
        raise ValueError("the task queue lives in PostgreSQL; on SQLite see the worker state")
    with engine.connect() as conn:
        counts = {word: 0 for word in ("queued", "running", "failed", "done")}
        by_task: dict[str, dict[str, int]] = {}
        rows = conn.execute(
            text(
                "SELECT task_name, status::text AS status, count(*) AS n "
                "FROM procrastinate_jobs GROUP BY task_name, status"
            )
        )
        for row in rows:
            word = STATUS_WORDS.get(row.status, row.status)
            counts[word] = counts.get(word, 0) + int(row.n)
            by_task.setdefault(row.task_name, {})[word] = int(row.n)
        scheduled_later = conn.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE status = 'todo' AND scheduled_at > now()"
            )
        ).scalar_one()
        running = [
            {
                "id": row.id,
                "task": row.task_name,
                "args": _args(row.args),
                "attempts": row.attempts + 1,
                "worker_id": row.worker_id,
                "started_at": _iso(row.started_at),
                "heartbeat_age_s": (
                    None if row.heartbeat_age_s is None else round(float(row.heartbeat_age_s), 1)
                ),
                "stalled": row.worker_id is None
                or (row.heartbeat_age_s is not None and row.heartbeat_age_s > stalled_after_s),
            }
            for row in conn.execute(
                text(
                    "SELECT j.id, j.task_name, j.args, j.attempts, j.worker_id, "
                    "  (SELECT max(e.at) FROM procrastinate_events e "
                    "    WHERE e.job_id = j.id AND e.type = 'started') AS started_at, "
                    "  EXTRACT(EPOCH FROM now() - w.last_heartbeat) AS heartbeat_age_s "
                    "FROM procrastinate_jobs j "
                    "LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
                    "WHERE j.status = 'doing' ORDER BY j.id"
                )
            )
        ]
        failed = [
            {
                "id": row.id,
                "task": row.task_name,
                "args": _args(row.args),
                "attempts": row.attempts + 1,
                "failed_at": _iso(row.failed_at),
            }
            for row in conn.execute(
                text(
                    "SELECT j.id, j.task_name, j.args, j.attempts, "
                    "  (SELECT max(e.at) FROM procrastinate_events e "
                    "    WHERE e.job_id = j.id AND e.type = 'failed') AS failed_at "
                    "FROM procrastinate_jobs j WHERE j.status = 'failed' "
                    "ORDER BY j.id DESC LIMIT :limit"
                ),
                {"limit": limit},
            )
        ]
        workers = [
            {
                "id": row.id,
                "last_heartbeat": _iso(row.last_heartbeat),
                "age_s": round(float(row.age_s), 1),
                "alive": float(row.age_s) <= stalled_after_s,
            }
            for row in conn.execute(
                text(
                    "SELECT id, last_heartbeat, "
                    "EXTRACT(EPOCH FROM now() - last_heartbeat) AS age_s "
                    "FROM procrastinate_workers ORDER BY id"
                )
            )
        ]
    return {
        "backend": "postgresql (procrastinate)",
        "counts": counts,
        "scheduled_later": int(scheduled_later),
        "by_task": by_task,
        "running": running,
        "failed": failed,
        "workers": workers,
    }
