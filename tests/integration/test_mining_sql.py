"""The formula's Python and SQL forms agree bit for bit, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, literal, select, union_all
from sqlalchemy.types import Float

from curtailcoin import mining

pytestmark = pytest.mark.db

# (PostgreSQL raises on an underflow to a subnormal: no real energy is below a microwatt-hour)
energies = st.just(0.0) | st.floats(min_value=1e-6, max_value=5_000.0)
powers = st.floats(min_value=50.0, max_value=10_000.0)
hashrates = st.floats(min_value=0.01, max_value=2_000.0)
difficulties = st.floats(min_value=1.0, max_value=1e16)
subsidies = st.sampled_from([50.0, 25.0, 12.5, 6.25, 3.125, 1.5625, 2.2, 0.0])

ROW = st.tuples(energies, powers, hashrates, difficulties, subsidies)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(ROW, min_size=1, max_size=40))
def test_sql_forms_equal_python_forms(engine: Engine, rows: list[tuple[float, ...]]) -> None:
    names = ("e", "p", "h", "d", "r")
    data = union_all(
        *(
            select(*(literal(x, Float).label(n) for n, x in zip(names, row, strict=True)))
            for row in rows
        )
    ).subquery("v")
    query = select(
        mining.btc_sql(data.c.e, data.c.h, data.c.p, data.c.d, data.c.r),
        mining.btc_per_th_per_w_sql(data.c.e, data.c.d, data.c.r),
    )
    with engine.connect() as conn:
        got = conn.execute(query).all()
    expected = [
        (mining.btc(e, h, p, d, r), mining.btc_per_th_per_w(e, d, r)) for e, p, h, d, r in rows
    ]
    assert sorted(tuple(map(float, row)) for row in got) == sorted(expected)


def test_checked_and_unchecked_forms_are_one_formula() -> None:
    args = (1234.5, 100.0, 3050.0, 110_451_907_374_649.52, 3.125)  # E, H, P, D, R
    assert mining.btc_for_energy(*args) == mining.btc(*args)
    assert mining.btc_per_mwh_per_th_per_w(args[3], args[4]) == mining.btc_per_th_per_w(
        1.0, args[3], args[4]
    )
