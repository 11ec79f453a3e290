"""The drift faults of the test servers: the real answer, rewritten one way at a time."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import httpx
import pytest

from curtailcoin.testservers.drift import DriftSpec
from curtailcoin.testservers.elexon import ElexonTestServer

STACK = "/balancing/settlement/stack/all/bid/2025-01-17/20"


@pytest.fixture
def server() -> Iterator[ElexonTestServer]:
    with ElexonTestServer(seed=1) as s:
        s.set_day("2025-01-17", "heavy")
        yield s


def _get(server: ElexonTestServer) -> bytes:
    return httpx.get(server.url(STACK)).content


def test_missing_and_renamed_field(server: ElexonTestServer) -> None:
    clean = json.loads(_get(server))["data"]
    assert clean and all("originalPrice" in line for line in clean)
    server.faults.add("missing_field", field="originalPrice", times=1)
    assert all("originalPrice" not in line for line in json.loads(_get(server))["data"])
    server.faults.add("renamed_field", field="id", to="bmUnitId", times=1)
    renamed = json.loads(_get(server))["data"]
    assert [line["bmUnitId"] for line in renamed] == [line["id"] for line in clean]
    assert json.loads(_get(server))["data"] == clean  # the faults were used up


def test_set_field_writes_raw_tokens(server: ElexonTestServer) -> None:
    server.faults.add("set_field", field="volume", value="NaN", line=0, times=1)
    body = _get(server)
    assert b'"volume":NaN' in body
    data = json.loads(body)["data"]
    assert math.isnan(data[0]["volume"]) and not math.isnan(data[1]["volume"])
    server.faults.add("set_field", field="volume", value="1e400", times=1)
    assert all(math.isinf(line["volume"]) for line in json.loads(_get(server))["data"])


def test_null_field_on_a_unit_only(server: ElexonTestServer) -> None:
    clean = json.loads(_get(server))["data"]
    unit = clean[0]["id"]
    server.faults.add("null_field", field="soFlag", unit=f"^{unit}$", times=1)
    for line in json.loads(_get(server))["data"]:
        assert (line["soFlag"] is None) == (line["id"] == unit)


@pytest.mark.parametrize(("value", "expected"), [(None, []), ("[]", []), ("null", None)])
def test_empty_data(server: ElexonTestServer, value: str | None, expected: object) -> None:
    server.faults.add("empty_data", value=value, times=1)
    payload = json.loads(_get(server))
    assert payload["data"] == expected and payload["metadata"]


def test_duplicate_line_with_a_null_field(server: ElexonTestServer) -> None:
    clean = json.loads(_get(server))["data"]
    server.faults.add("duplicate_line", line=0, field="acceptanceId", times=1)
    data = json.loads(_get(server))["data"]
    assert len(data) == len(clean) + 1
    assert data[0] == data[1] and data[0]["acceptanceId"] is None


def test_drift_leaves_errors_alone(server: ElexonTestServer) -> None:
    server.faults.add("empty_data", value="null")
    response = httpx.get(server.url("/balancing/settlement/stack/all/bid/2025-01-17/60"))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "spec",
    [
        DriftSpec("missing_field"),
        DriftSpec("renamed_field", field="id"),
        DriftSpec("set_field", field="volume"),
        DriftSpec("set_field", field="volume", value="nope"),
        DriftSpec("empty_data", value="{}"),
        DriftSpec("null_field", field="soFlag", line=-1),
    ],
)
def test_bad_specs_are_refused(spec: DriftSpec) -> None:
    with pytest.raises(ValueError):
        spec.check()


def test_cli_fault_spec_with_drift_keys(server: ElexonTestServer) -> None:
    import typer

    from curtailcoin.cli.testserver import apply_fault_specs

    apply_fault_specs(server, ["set_field:1@/stack/all/bid/#field=originalPrice,value=NaN,line=0"])
    assert b'"originalPrice":NaN' in _get(server)
    with pytest.raises(typer.BadParameter, match="KEY=VALUE"):
        apply_fault_specs(server, ["set_field#colour=red"])
    with pytest.raises(typer.BadParameter, match="needs value"):
        apply_fault_specs(server, ["set_field#field=volume"])
