"""When a stored float equals a recomputed one: within summation-order noise, never bit for bit
(sums over the same rows in another order differ in the last places)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

REL_TOL = 1e-9
"""Relative tolerance for comparing stored floats with recomputed sums (summation order)."""
ABS_TOL = 1e-9

_Key = TypeVar("_Key")


def close(a: float | None, b: float | None, rel: float = REL_TOL, abs_: float = ABS_TOL) -> bool:
    """Equal within float noise (both None counts as equal)."""
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def values_equal(stored: Mapping[str, float], expected: Mapping[str, float]) -> bool:
    """Every field of ``expected`` equal (within :func:`close`) in ``stored``."""
    return all(close(float(stored[k]), float(expected[k])) for k in expected)


def _rows_equal(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return all(
        close(x, y) if isinstance(x, float) or isinstance(y, float) else x == y
        for x, y in zip(a, b, strict=True)
    )


def differing_keys(
    want: Mapping[_Key, Sequence[Any]], have: Mapping[_Key, Sequence[Any]]
) -> list[_Key]:
    """Keys of rows missing on one side or differing: floats within :func:`close`, every
    other value (names, counts, dates) exactly."""
    return [
        key
        for key in set(want) | set(have)
        if key not in want or key not in have or not _rows_equal(want[key], have[key])
    ]
