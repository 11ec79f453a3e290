"""The OpenAPI schema fuzzed with schemathesis: no 5xx, responses conform to the schema.

Runs against a seeded database on each backend, with a small number of examples per operation
so the whole run stays within a few seconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings

from curtailcoin.web import create_app
from support.api import Seeded, seed_database
from support.databases import BACKENDS

if TYPE_CHECKING:
    import schemathesis


@pytest.fixture(scope="module", params=BACKENDS)
def seeded_fuzz(request: pytest.FixtureRequest) -> Seeded:
    fixture = "pg_database" if request.param == "postgresql" else "sqlite_database"
    return seed_database(request.getfixturevalue(fixture))


@pytest.mark.slow
def test_api_conforms_and_never_errors(seeded_fuzz: Seeded) -> None:
    # imported here: schemathesis (and the hypothesis it loads) costs ~2 s of CPU per process,
    # paid only by the runs that fuzz (its pytest plugin is off: pyproject.toml's addopts)
    import schemathesis
    from schemathesis.core.result import Ok

    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.content_type_conformance,
        schemathesis.checks.response_schema_conformance,
    ]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(seeded_fuzz.settings))
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(checks=checks)

        check()
