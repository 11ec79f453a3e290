"""The ratios and sums of a response that may have no value (pure)."""

from __future__ import annotations

from collections.abc import Sequence


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``; None when either is missing or the denominator is ≤ 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def per(numerator: float, denominator: float) -> float | None:
    """A figure per unit (£/MWh, BTC/MWh); None without a positive denominator."""
    return numerator / denominator if denominator > 0 else None


def sum_or_none(values: Sequence[float | None]) -> float | None:
    """The sum, or None when any part is unknown (a value whose price is missing)."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)
