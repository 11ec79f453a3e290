"""Structured logging: one line per event, ``key=value`` context (date, period, farm, …).

Stderr gets the lines at the chosen level; a log file per run (rotated) when configured.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from datetime import UTC, datetime
from pathlib import Path

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class LogfmtFormatter(logging.Formatter):
    """``2026-11-28T21:00:00Z WARNING curtailcoin.http retrying request url=… attempt=2``."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [stamp, record.levelname, record.name, record.getMessage()]
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            text = value if isinstance(value, int | float) else json.dumps(str(value))
            parts.append(f"{key}={text}")
        line = " ".join(str(p) for p in parts)
        if record.exc_info:
            line += " exc=" + json.dumps(self.formatException(record.exc_info))
        return line


def configure_logging(
    level: str = "WARNING", log_file: Path | None = None, run_name: str = "run"
) -> None:
    """Set up the ``curtailcoin`` logger (idempotent)."""
    logger = logging.getLogger("curtailcoin")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    stream = logging.StreamHandler()
    stream.setLevel(level.upper())
    stream.setFormatter(LogfmtFormatter())
    logger.addHandler(stream)
    if log_file is not None:
        path = Path(log_file)
        if path.suffix == "":  # a directory: one file per run
            path.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            path = path / f"{run_name}-{stamp}.log"
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
        )
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(LogfmtFormatter())
        logger.addHandler(file_handler)
