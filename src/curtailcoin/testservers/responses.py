"""An answer a test server sends, and the helpers that build one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Query = dict[str, list[str]]


@dataclass
class Response:
    """An answer to send."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: Any,
    status: int = 200,
    *,
    content_type: str = "application/json; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    return Response(status, body, content_type, dict(headers or {}))


def format_retry_after(seconds: float) -> str:
    """``Retry-After`` value: an integer when the value is whole (``1``), else ``0.25``."""
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
