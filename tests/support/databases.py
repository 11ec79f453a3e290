"""Which databases the tests run on, and where PostgreSQL is: read once from the environment.

``CURTAILCOIN_TEST_DATABASES`` chooses the backends (default ``sqlite,postgresql``); PostgreSQL
is reached at ``CURTAILCOIN_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
Here, not in ``conftest.py``, so that test modules import them by one name from any directory.
"""

from __future__ import annotations

import os

PG_ADMIN_URL = os.environ.get(
    "CURTAILCOIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = [
    b.strip()
    for b in os.environ.get("CURTAILCOIN_TEST_DATABASES", "sqlite,postgresql").split(",")
    if b.strip()
]


def _pg_url(dbname: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{dbname}"
