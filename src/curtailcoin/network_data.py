"""The packaged network tables: reading their CSVs and times, and the error for bad data."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from importlib.resources import files


class NetworkDataError(ValueError):
    """Epoch or halving data that is malformed or contradicts known exact values."""


def fmt_utc(t: datetime) -> str:
    """``t`` in UTC as ``YYYY-MM-DDTHH:MM:SSZ`` (every message about the tables uses it)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def as_utc(t: datetime, name: str) -> datetime:
    """``t`` in UTC; a naive time is refused (instants are never naive)."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {t.isoformat()}")
    return t.astimezone(UTC)


def parse_time(text: str, unix_text: str, where: str) -> datetime | None:
    """A table's time from its ISO text and/or unix seconds (which must agree); None if both
    are empty."""
    text = text.strip()
    unix_text = unix_text.strip()
    if not text and not unix_text:
        return None
    try:
        from_unix = datetime.fromtimestamp(int(unix_text), tz=UTC) if unix_text else None
        from_text = datetime.fromisoformat(text).astimezone(UTC) if text else None
    except ValueError as exc:
        raise NetworkDataError(f"{where}: bad time {text!r}/{unix_text!r}: {exc}") from None
    if from_unix and from_text and from_unix != from_text:
        raise NetworkDataError(f"{where}: time {text} disagrees with unix time {unix_text}")
    result = from_unix or from_text
    assert result is not None
    return result


def read_packaged_csv(name: str) -> list[dict[str, str]]:
    text = (files("curtailcoin") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))
