"""``?format=parquet`` beside ``?format=csv`` on every table view, on SQLite and PostgreSQL: the
same columns in the same order and the same rows, typed (dates date32, figures float64, counts
int64, missing null), the Parquet media type and a filename like the CSV's; the OpenAPI document
lists the format and the media type. The database is seeded through the real pipeline."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from curtailcoin.web import create_app
from support.api import Seeded, seed_database
from support.databases import BACKENDS

TABLE_VIEWS = [
    "/api/summary/monthly/2025-01",
    "/api/summary/yearly/2025",
    "/api/curtailment/hourly/2025-03-30",
    "/api/mining-potential/monthly/2025-01",
    "/api/mining-potential/yearly/2025?minerModel=S21_PRO",
    "/api/mining-potential/farms?date=2025-01&timeframe=month",
    "/api/mining-potential/top-farms?period=month&value=2025-01",
    "/api/farm-tables/grouped-data?timeframe=year&value=2025",
    "/api/prices?from=2025-01-15&to=2025-01-20",
]


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.fixture(scope="module")
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings)) as c:
        yield c


def with_format(path: str, fmt: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}format={fmt}"


def as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


@pytest.mark.db
@pytest.mark.parametrize("path", TABLE_VIEWS)
def test_parquet_has_the_csv_columns_and_rows_typed(client: TestClient, path: str) -> None:
    as_csv = client.get(with_format(path, "csv"))
    as_parquet = client.get(with_format(path, "parquet"))
    assert as_csv.status_code == as_parquet.status_code == 200, as_parquet.text
    assert as_parquet.headers["content-type"] == "application/vnd.apache.parquet"
    csv_name = as_csv.headers["content-disposition"]
    assert csv_name.endswith('.csv"')
    assert as_parquet.headers["content-disposition"] == csv_name[: -len('.csv"')] + '.parquet"'
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    table = pq.read_table(io.BytesIO(as_parquet.content))
    assert table.column_names == rows[0]
    assert [[as_csv_text(v) for v in row.values()] for row in table.to_pylist()] == rows[1:]
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if name == "date":
            assert kind == pa.date32(), name
        elif name.endswith(("_mwh", "_gbp", "_btc", "_gbp_per_mwh")) or name == "price":
            assert kind == pa.float64(), name
        elif name in ("records", "farms"):
            assert kind == pa.int64(), name


@pytest.mark.db
def test_missing_values_are_null_in_parquet(client: TestClient) -> None:
    """2025-03-30 has Bitcoin and no price: its value is null in JSON and in Parquet (not 0)."""
    answer = client.get("/api/mining-potential/monthly/2025-03?format=parquet")
    table = pq.read_table(io.BytesIO(answer.content))
    values = table.column("value_gbp_at_date_price").to_pylist()
    json_rows = client.get("/api/mining-potential/monthly/2025-03").json()["rows"]
    assert values == [row["valueGbp"] for row in json_rows]
    assert None in values


def test_openapi_documents_the_parquet_format(seeded: Seeded) -> None:
    with TestClient(create_app(seeded.settings)) as c:
        document = c.get("/openapi.json").json()
    monthly = document["paths"]["/api/summary/monthly/{yearMonth}"]["get"]
    (fmt,) = [p for p in monthly["parameters"] if p["name"] == "format"]
    assert fmt["schema"]["enum"] == ["json", "csv", "parquet"]
    assert "application/vnd.apache.parquet" in monthly["responses"]["200"]["content"]
