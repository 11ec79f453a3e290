"""The seed's checkpoint files, written atomically, and the lock that keeps them single-writer.

``reconciliation_checkpoint.json`` (the unified reconciliation)::

    {"lastProcessedDate", "pendingDates": [], "completedDates": [], "startTime": epoch_ms,
     "lastUpdateTime": epoch_ms, "stats": {"totalRecords", "processedRecords",
     "successfulRecords", "failedRecords", "timeouts"}}

``daily_reconciliation_checkpoint.json`` (the daily check)::

    {"lastRun": "YYYY-MM-DD", "dates": [], "processedDates": [], "lastProcessedDate",
     "status": "running|completed|failed", "startTime": ISO, "endTime": ISO}

Both carry extra fields (``command``, ``status``, ``failedDates``, ``pid``, …). Every write goes
to a temporary file in the same directory, is flushed and fsynced, then renamed over the old
file (``files.write_atomic``), so a reader — or a run started after a ``kill -9`` — sees the old
or the new content, never a mix. A run holds an exclusive ``flock`` on ``<name>.lock`` while it
owns the checkpoint; the kernel releases it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from curtailcoin.files import write_atomic

log = logging.getLogger("curtailcoin.reconcile")

RECONCILIATION_CHECKPOINT = "reconciliation_checkpoint.json"
DAILY_CHECKPOINT = "daily_reconciliation_checkpoint.json"


class CheckpointDirError(ValueError):
    """``CURTAILCOIN_CHECKPOINT_DIR`` cannot hold checkpoints (one line naming the path)."""


def check_checkpoint_dir(directory: Path) -> Path:
    """Create the directory and write a file in it, so a run with an unusable directory (a
    file in its place, no permission) stops before its first date instead of after it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        if directory.exists() and not directory.is_dir():
            reason = "a file is in its place"
        raise CheckpointDirError(
            f"checkpoint directory {str(directory)!r} (CURTAILCOIN_CHECKPOINT_DIR) cannot be "
            f"created or written: {reason}; allowed a directory this user can create and write"
        ) from None
    return directory


def now_ms() -> int:
    return int(time.time() * 1000)


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def save_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """The seed's ``saveCheckpoint``: write ``data`` as JSON atomically (``files.write_atomic``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The seed's ``loadCheckpoint``: the stored object, or None when there is none.

    A file that is not a JSON object (edited by hand) is moved aside to ``<name>.corrupt``
    and reported, and the run starts afresh.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        log.error(
            "unreadable checkpoint moved aside",
            extra={"path": str(path), "moved_to": str(aside), "error": str(exc)},
        )
        return None
    return data


def reset_checkpoint(path: Path) -> bool:
    """The seed's ``resetCheckpoint``: delete the file; True when there was one."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


class CheckpointLock:
    """An exclusive, non-blocking ``flock`` on ``<checkpoint>.lock`` for the run's lifetime."""

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _owner() -> dict[str, Any]:
    return {"pid": os.getpid(), "host": socket.gethostname()}


@dataclass
class CheckpointStats:
    totalRecords: int = 0
    processedRecords: int = 0
    successfulRecords: int = 0
    failedRecords: int = 0
    timeouts: int = 0
    retries: int = 0

    def to_json(self) -> dict[str, int]:
        return {
            "totalRecords": self.totalRecords,
            "processedRecords": self.processedRecords,
            "successfulRecords": self.successfulRecords,
            "failedRecords": self.failedRecords,
            "timeouts": self.timeouts,
            "retries": self.retries,
        }

    @classmethod
    def from_json(cls, data: Any) -> CheckpointStats:
        data = data if isinstance(data, dict) else {}
        return cls(**{k: int(data.get(k, 0) or 0) for k in cls.__dataclass_fields__})


@dataclass
class ReconciliationCheckpoint:
    """``reconciliation_checkpoint.json``: the unified reconciliation's progress."""

    command: str
    pendingDates: list[str] = field(default_factory=list)
    completedDates: list[str] = field(default_factory=list)
    failedDates: list[dict[str, str]] = field(default_factory=list)
    lastProcessedDate: str | None = None
    startTime: int = field(default_factory=now_ms)
    lastUpdateTime: int = field(default_factory=now_ms)
    stats: CheckpointStats = field(default_factory=CheckpointStats)
    status: str = "running"

    def to_json(self) -> dict[str, Any]:
        return {
            "lastProcessedDate": self.lastProcessedDate,
            "pendingDates": self.pendingDates,
            "completedDates": self.completedDates,
            "startTime": self.startTime,
            "lastUpdateTime": self.lastUpdateTime,
            "stats": self.stats.to_json(),
            "command": self.command,
            "status": self.status,
            "failedDates": self.failedDates,
            **_owner(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReconciliationCheckpoint:
        def strings(key: str) -> list[str]:
            value = data.get(key)
            return [str(v) for v in value] if isinstance(value, list) else []

        failed = data.get("failedDates")
        return cls(
            command=str(data.get("command", "")),
            pendingDates=strings("pendingDates"),
            completedDates=list(dict.fromkeys(strings("completedDates"))),
            failedDates=[
                {"date": str(f.get("date")), "reason": str(f.get("reason", ""))}
                for f in (failed if isinstance(failed, list) else [])
                if isinstance(f, dict)
            ],
            lastProcessedDate=data.get("lastProcessedDate"),
            startTime=int(data.get("startTime") or now_ms()),
            lastUpdateTime=int(data.get("lastUpdateTime") or now_ms()),
            stats=CheckpointStats.from_json(data.get("stats")),
            status=str(data.get("status", "running")),
        )


@dataclass
class DailyCheckpoint:
    """``daily_reconciliation_checkpoint.json``: the daily check's progress."""

    lastRun: str
    dates: list[str] = field(default_factory=list)
    processedDates: list[str] = field(default_factory=list)
    lastProcessedDate: str | None = None
    status: str = "running"
    startTime: str = field(default_factory=iso_now)
    endTime: str | None = None
    failedDates: list[dict[str, str]] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "lastRun": self.lastRun,
            "dates": self.dates,
            "processedDates": self.processedDates,
            "lastProcessedDate": self.lastProcessedDate,
            "status": self.status,
            "startTime": self.startTime,
            "endTime": self.endTime,
            "failedDates": self.failedDates,
            "results": self.results,
            **_owner(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DailyCheckpoint:
        def strings(key: str) -> list[str]:
            value = data.get(key)
            return [str(v) for v in value] if isinstance(value, list) else []

        results = data.get("results")
        return cls(
            lastRun=str(data.get("lastRun", "")),
            dates=strings("dates"),
            processedDates=list(dict.fromkeys(strings("processedDates"))),
            lastProcessedDate=data.get("lastProcessedDate"),
            status=str(data.get("status", "")),
            startTime=str(data.get("startTime") or iso_now()),
            endTime=data.get("endTime"),
            results={str(k): str(v) for k, v in results.items()}
            if isinstance(results, dict)
            else {},
        )
