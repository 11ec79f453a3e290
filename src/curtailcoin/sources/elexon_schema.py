"""Strict readers of Elexon's JSON fields: a wrong type, a non-finite number or an absent field is
an :class:`ElexonSchemaError` that names the field and the value, never a default.

The HTTP layer's ``json.loads`` reads ``NaN``, ``Infinity`` and ``1e400`` as floats, so finiteness
is checked here, for every number of every endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from curtailcoin.sources.http import PermanentSourceError

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class ElexonSchemaError(PermanentSourceError):
    """Elexon answered with JSON that does not match its documented schema (never retried).

    ``where`` locates the value (endpoint, date, period, line); ``problem`` names the field and
    the value; ``cause`` is the problem without anything specific to one period or line, so
    periods that failed the same way can be reported together.
    """

    def __init__(self, where: str, problem: str, *, cause: str | None = None) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.cause = cause or problem


def _wrong(context: str, key: str, value: Any, expected: str) -> ElexonSchemaError:
    return ElexonSchemaError(context, f"field {key!r} is {value!r}, expected {expected}")


def opt_float(raw: Mapping[str, Any], key: str, context: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong(context, key, value, "a number")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the double range
        raise _wrong(context, key, value, "a finite number") from None
    if not math.isfinite(number):
        raise _wrong(context, key, number, "a finite number")
    return number


def req_float(raw: Mapping[str, Any], key: str, context: str) -> float:
    value = opt_float(raw, key, context)
    if value is None:
        raise ElexonSchemaError(context, f"field {key!r} is null, expected a number")
    return value


def opt_int(
    raw: Mapping[str, Any], key: str, context: str, bounds: tuple[int, int] = INT64
) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(context, key, value, "an integer")
    if not bounds[0] <= value <= bounds[1]:
        raise _wrong(context, key, value, f"an integer in {bounds[0]}..{bounds[1]}")
    return value


def req_int(raw: Mapping[str, Any], key: str, context: str, bounds: tuple[int, int] = INT64) -> int:
    value = opt_int(raw, key, context, bounds)
    if value is None:
        raise ElexonSchemaError(context, f"field {key!r} is null, expected an integer")
    return value


def opt_bool(raw: Mapping[str, Any], key: str, context: str) -> bool | None:
    value = raw.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise _wrong(context, key, value, "a boolean")


def opt_str(raw: Mapping[str, Any], key: str, context: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _wrong(context, key, value, "a string")


def opt_datetime(raw: Mapping[str, Any], key: str, context: str) -> datetime | None:
    text = opt_str(raw, key, context)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _wrong(context, key, text, "a date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def req_date(raw: Mapping[str, Any], key: str, context: str) -> date:
    text = opt_str(raw, key, context)
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        raise _wrong(context, key, text, "a date") from None


def data_array(payload: Any, where: str) -> list[Any]:
    """The ``data`` list of a wrapped answer: ``null`` is a schema error, not "no lines"."""
    if not isinstance(payload, dict) or "data" not in payload:
        raise ElexonSchemaError(where, f"expected an object with 'data', got {str(payload)[:80]}")
    data = payload["data"]
    if not isinstance(data, list):
        shown = "null" if data is None else type(data).__name__
        raise ElexonSchemaError(where, f"'data' is {shown}, expected an array of lines")
    return data
