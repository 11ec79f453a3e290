"""Elexon's OpenAPI document as JSON Schema validators of the answers (the test servers' checks).

OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes a type list; refs resolve in the doc.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _nullable_to_types(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_to_types(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_to_types(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


OPENAPI = json.loads((FIXTURES / "insights_openapi_curtailment_subset.json").read_text())
_DOC_URI = "urn:elexon-insights-openapi"
_REGISTRY: Registry[Any] = Registry().with_resource(
    _DOC_URI, Resource.from_contents(_nullable_to_types(OPENAPI), DRAFT202012)
)
FORMATS = FormatChecker()


def _is_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    date.fromisoformat(value)
    return True


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


def _is_double(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


FORMATS.checks("date")(_is_date)
FORMATS.checks("date-time", raises=ValueError)(_is_datetime)
FORMATS.checks("int32")(_is_int32)
FORMATS.checks("double")(_is_double)


def response_validator(path: str) -> Draft202012Validator:
    """Validator of the 200 application/json answer of an OpenAPI path."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    ref = f"{_DOC_URI}#/paths/{pointer}/get/responses/200/content/application~1json/schema"
    return Draft202012Validator({"$ref": ref}, registry=_REGISTRY, format_checker=FORMATS)


def assert_valid(validator: Draft202012Validator, payload: Any) -> None:
    errors = list(validator.iter_errors(payload))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
