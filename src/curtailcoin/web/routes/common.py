"""Declarations the routers share: the documented error and CSV / Parquet responses, and the
path and query parameters that mean the same in every route."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query

from curtailcoin.web import params as pv
from curtailcoin.web.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "Invalid input; the message names the field"},
    503: {"model": ErrorResponse, "description": "Database unavailable"},
}
CSV_OK: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}},
        },
        "description": "JSON, or CSV with format=csv, or Parquet with format=parquet",
    },
}

DATE_DOC = "Settlement date (Europe/London day), YYYY-MM-DD, not in the future"
DatePath = Annotated[str, Path(pattern=pv.DATE_PATTERN, description=DATE_DOC)]
MonthPath = Annotated[str, Path(alias="yearMonth", pattern=pv.MONTH_PATTERN, description="YYYY-MM")]
YearPath = Annotated[str, Path(pattern=pv.YEAR_PATTERN, description="YYYY")]

LeadPartyQ = Annotated[
    str | None,
    Query(
        alias="leadParty",
        max_length=pv.NAME_MAX,
        description="Only this lead party (exact name, see /api/lead-parties)",
    ),
]
FarmIdQ = Annotated[
    str | None,
    Query(alias="farmId", max_length=64, description="Only this Elexon BM unit id"),
]
ModelQ = Annotated[
    str | None,
    Query(
        alias="minerModel",
        max_length=40,
        description="Miner model key (see /api/miner-models); default the first tracked model",
    ),
]
Format = Literal["json", "csv", "parquet"]
FormatQ = Annotated[
    Format,
    Query(description="json (default), or csv or parquet for a download (same columns)"),
]
TimeframeQ = Annotated[
    str | None,
    Query(
        max_length=10,
        description="day | month | year (also daily | monthly | yearly); inferred from the value "
        "when omitted",
    ),
]
ValueQ = Annotated[
    str | None,
    Query(
        max_length=10,
        pattern=pv.VALUE_PATTERN,
        description="YYYY-MM-DD, YYYY-MM or YYYY matching the timeframe; default the latest date "
        "with curtailment",
    ),
]
