"""Schema-drift faults: a valid HTTP answer whose JSON says something the contract does not.

A hostile or changed upstream answers 200 with well-formed JSON that is wrong in one way at a
time: a key gone or renamed, a null where a figure is needed, a non-finite number, no lines at all,
the same line twice. These faults rewrite the server's real answer (``data`` of a wrapped
response, or a bare array), so everything else about it stays exactly as served.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

#: Fault kinds that rewrite the body of a 200 answer (see :func:`rewrite_body`).
DriftKind = Literal[
    "missing_field",
    "renamed_field",
    "null_field",
    "set_field",
    "empty_data",
    "duplicate_line",
]
DRIFT_KINDS: tuple[str, ...] = get_args(DriftKind)

_RAW = "\x00raw\x00"
_RAW_JSON = json.dumps(_RAW)

#: ``set_field`` values that are not JSON but that Python's ``json.loads`` reads as floats.
NON_STANDARD_TOKENS = ("NaN", "Infinity", "-Infinity")


@dataclass(frozen=True)
class DriftSpec:
    """What a drift fault changes: ``field`` (and ``to``/``value``) on the lines it selects.

    ``unit`` (a regex on a line's ``id``) and ``line`` (an index into ``data``) select lines;
    both None = every line. ``value`` is a raw JSON token for ``set_field`` (``NaN``,
    ``-Infinity``, ``1e400``, ``"12"``, ``0``) and ``[]`` or ``null`` for ``empty_data``. A
    ``duplicate_line`` with a ``field`` sets that field to null on both copies.
    """

    kind: str
    field: str | None = None
    to: str | None = None
    value: str | None = None
    unit: str | None = None
    line: int | None = None

    def check(self) -> None:
        """Raise ``ValueError`` for a spec that cannot be applied."""
        if self.kind not in DRIFT_KINDS:
            raise ValueError(f"unknown drift fault {self.kind!r}: allowed {', '.join(DRIFT_KINDS)}")
        needs_field = self.kind in ("missing_field", "renamed_field", "null_field", "set_field")
        if needs_field and not self.field:
            raise ValueError(f"a {self.kind} fault needs field=NAME")
        if self.kind == "renamed_field" and not self.to:
            raise ValueError("a renamed_field fault needs to=NEW_NAME")
        if self.kind == "set_field":
            if self.value is None:
                raise ValueError("a set_field fault needs value=TOKEN (e.g. NaN, -Infinity, 1e400)")
            if self.value not in NON_STANDARD_TOKENS:
                json.loads(self.value)  # ValueError when not a JSON value
        if self.kind == "empty_data" and self.value not in (None, "[]", "null"):
            raise ValueError(f"an empty_data fault takes value [] or null, not {self.value!r}")
        if self.unit is not None:
            re.compile(self.unit)
        if self.line is not None and self.line < 0:
            raise ValueError(f"line must be >= 0, not {self.line}")


def _selected(spec: DriftSpec, index: int, item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    if spec.line is not None and index != spec.line:
        return False
    return spec.unit is None or bool(re.search(spec.unit, str(item.get("id"))))


def rewrite_body(body: bytes, spec: DriftSpec) -> bytes:
    """The answer ``body`` with the drift applied; a body that is not JSON is returned as is."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    wrapped = isinstance(payload, dict) and "data" in payload
    data = payload["data"] if wrapped else payload
    if not isinstance(data, list):
        return body
    if spec.kind == "empty_data":
        new_data: Any = None if spec.value == "null" else []
    else:
        new_data = _rewrite_lines(data, spec)
    if wrapped:
        payload["data"] = new_data
    else:
        payload = new_data
    text = json.dumps(payload, separators=(",", ":"))
    if spec.kind == "set_field":
        assert spec.value is not None
        text = text.replace(_RAW_JSON, spec.value)
    return text.encode()


def _rewrite_lines(data: list[Any], spec: DriftSpec) -> list[Any]:
    out: list[Any] = []
    for index, item in enumerate(data):
        if not _selected(spec, index, item):
            out.append(item)
            continue
        line = dict(item)
        field = spec.field or ""
        if spec.kind == "missing_field":
            line.pop(field, None)
        elif spec.kind == "renamed_field":
            assert spec.to is not None
            line[spec.to] = line.pop(field, None)
        elif spec.kind == "null_field":
            line[field] = None
        elif spec.kind == "set_field":
            line[field] = _RAW
        elif spec.kind == "duplicate_line" and field:
            line[field] = None  # e.g. both copies with a null acceptanceId
        out.append(line)
        if spec.kind == "duplicate_line":
            out.append(dict(line))
    return out
