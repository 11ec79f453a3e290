"""Expected Bitcoin from curtailed energy: the seed system's energy-limited formula (SPEC §5).

If every curtailed MWh had run miners of hashrate ``H`` (TH/s) drawing ``P`` (W), the energy buys
``E × 3.6e9 / P`` miner-seconds, i.e. ``E × 3.6e9 / P × H × 1e12`` hashes. A block needs on average
``D × 2^32`` hashes at difficulty ``D`` (the exact figure is ``D × 2^48 / 0xFFFF``; 2^32 is what
every calculator and the seed system use, a 1.5e-5 relative difference), and pays the block
subsidy ``R``. Hence

    BTC = E × 3.6e9 / P × H × 1e12 / (D × 2^32) × R

Nothing here depends on how long the energy took to deliver: the window length drops out, so
the result is "energy-limited" (no cap on the number of machines). Luck, fees, pool fee and
uptime are deliberately left out so the figures stay comparable with the seed system's.
(:func:`hashprice_btc_per_th_day`, per TH/s per day with fees, is the quote miners use.)

BTC is linear in ``E`` and in ``H / P`` (the miner's efficiency, TH/s per W), so for any model
``BTC = E × (H / P) × btc_per_mwh_per_th_per_w(D, R)``.

This module is the formula's one home: its constants, its two operation orders (per model:
:func:`btc`; per unit of efficiency: :func:`btc_per_th_per_w`), each as Python and as SQL (and
:func:`btc` on numpy arrays, :func:`btc_array`). Stored
figures are compared bit for bit, so every caller uses these and never writes the formula again;
the SQL forms apply the same operations in the same order (a test checks they agree exactly on
SQLite and PostgreSQL).
"""

from __future__ import annotations

import math
from typing import Any

JOULES_PER_MWH = 3.6e9
"""1 MWh = 1e6 Wh × 3600 s/h = 3.6e9 J; divided by a power in W gives miner-seconds."""

HASHES_PER_TH = 1e12
"""1 TH = 1e12 hashes."""

HASHES_PER_DIFFICULTY = 2.0**32
"""Expected hashes per block per unit of difficulty (the usual rounding of 2^48 / 0xFFFF)."""


def _btc(energy_mwh: Any, power_w: Any, hashrate_th: Any, difficulty: Any, subsidy: Any) -> Any:
    """The one operation order, on floats and on SQL expressions alike (only * and /)."""
    return (
        energy_mwh
        * JOULES_PER_MWH
        / power_w
        * hashrate_th
        * HASHES_PER_TH
        / (difficulty * HASHES_PER_DIFFICULTY)
        * subsidy
    )


def _factor(energy_mwh: Any, difficulty: Any, subsidy: Any) -> Any:
    """The order of the per-efficiency form, on floats and SQL expressions alike."""
    return (
        energy_mwh * JOULES_PER_MWH * HASHES_PER_TH / (difficulty * HASHES_PER_DIFFICULTY) * subsidy
    )


def btc(
    energy_mwh: float, hashrate_th: float, power_w: float, difficulty: float, subsidy: float
) -> float:
    """``E × 3.6e9 / P × H × 1e12 / (D × 2^32) × R``, unchecked (:func:`btc_for_energy` checks);
    the arguments in :func:`btc_for_energy`'s order."""
    return float(_btc(energy_mwh, power_w, hashrate_th, difficulty, subsidy))


def btc_per_th_per_w(energy_mwh: float, difficulty: float, subsidy: float) -> float:
    """BTC per (TH/s ÷ W) of ``energy_mwh``: ``E × 3.6e9 × 1e12 / (D × 2^32) × R``, unchecked.

    The formula without ``hashrate_th / power_w`` (BTC is linear in both), so a model's BTC is
    ``hashrate_th / power_w × this``; one figure per farm-day serves every model.
    """
    return float(_factor(energy_mwh, difficulty, subsidy))


def btc_sql(energy: Any, hashrate_th: Any, power_w: Any, difficulty: Any, subsidy: Any) -> Any:
    """:func:`btc` as a SQL expression (``energy`` a column or expression, in MWh); the
    arguments in :func:`btc`'s order."""
    return _btc(energy, power_w, hashrate_th, difficulty, subsidy)


def btc_array(
    energy_mwh: Any, hashrate_th: float, power_w: float, difficulty: Any, subsidy: Any
) -> Any:
    """:func:`btc` on numpy arrays, element by element (the site-economics sweep): the same
    operations in the same order, so each element equals :func:`btc` of its floats bit for
    bit; a NaN difficulty or subsidy (pending, missing) gives NaN, never a figure."""
    return _btc(energy_mwh, power_w, hashrate_th, difficulty, subsidy)


def btc_per_th_per_w_sql(energy: Any, difficulty: Any, subsidy: Any) -> Any:
    """:func:`btc_per_th_per_w` as a SQL expression."""
    return _factor(energy, difficulty, subsidy)


def _check(name: str, value: float, *, allow_zero: bool) -> None:
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def btc_for_energy(
    energy_mwh: float,
    hashrate_th: float,
    power_w: float,
    difficulty: float,
    block_subsidy_btc: float,
) -> float:
    """Expected BTC from running miners of ``hashrate_th`` TH/s at ``power_w`` W on ``energy_mwh``.

    ``E × 3.6e9 / P × H × 1e12 / (D × 2^32) × R`` — energy in MWh to joules, joules over watts to
    miner-seconds, times TH/s and 1e12 to hashes, over the hashes per block at ``difficulty``,
    times the block subsidy in BTC. ``energy_mwh`` is the positive curtailed energy; a negative
    value, a non-positive hashrate, power or difficulty, or a negative subsidy raise ``ValueError``
    (they mean a bug upstream, and a wrong BTC figure must never be stored silently).
    """
    _check("energy_mwh", energy_mwh, allow_zero=True)
    _check("hashrate_th", hashrate_th, allow_zero=False)
    _check("power_w", power_w, allow_zero=False)
    _check("difficulty", difficulty, allow_zero=False)
    _check("block_subsidy_btc", block_subsidy_btc, allow_zero=True)
    return btc(energy_mwh, hashrate_th, power_w, difficulty, block_subsidy_btc)


def btc_per_mwh(
    hashrate_th: float,
    power_w: float,
    difficulty: float,
    block_subsidy_btc: float,
) -> float:
    """Expected BTC per curtailed MWh for one miner model (``btc_for_energy`` with ``E = 1``).

    Example: the seed's S19J_PRO (100 TH/s, 3,050 W) at difficulty 110,451,907,374,649.52 and
    subsidy 3.125 gives 0.00077753 BTC/MWh, the figure behind the 2025-01-17 reference table.
    """
    return btc_for_energy(1.0, hashrate_th, power_w, difficulty, block_subsidy_btc)


def btc_per_mwh_per_th_per_w(difficulty: float, block_subsidy_btc: float) -> float:
    """The model-independent factor: BTC per MWh per (TH/s per W) of miner efficiency.

    ``btc_for_energy(E, H, P, D, R) == E × (H / P) × btc_per_mwh_per_th_per_w(D, R)`` (up to
    rounding), so one factor per settlement period serves every miner model.
    """
    _check("difficulty", difficulty, allow_zero=False)
    _check("block_subsidy_btc", block_subsidy_btc, allow_zero=True)
    return btc_per_th_per_w(1.0, difficulty, block_subsidy_btc)


SECONDS_PER_DAY = 86_400.0
"""Seconds a TH/s hashes in a day (hashprice is per TH/s per day)."""


def hashprice_btc_per_th_day(
    difficulty: float, block_subsidy_btc: float, fees_btc_per_block: float
) -> float:
    """Hashprice, the figure miners quote: expected BTC per TH/s per day.

    ``86400 s × 1e12 H/TH ÷ (D × 2^32) × (R + F)``: a day of 1 TH/s is ``86400 × 1e12`` hashes,
    a block needs ``D × 2^32`` on average (this module's constants), and pays the subsidy ``R``
    plus the transaction fees ``F`` (BTC per block). Checked as :func:`btc_for_energy` checks.
    """
    _check("difficulty", difficulty, allow_zero=False)
    _check("block_subsidy_btc", block_subsidy_btc, allow_zero=True)
    _check("fees_btc_per_block", fees_btc_per_block, allow_zero=True)
    return (
        SECONDS_PER_DAY
        * HASHES_PER_TH
        / (difficulty * HASHES_PER_DIFFICULTY)
        * (block_subsidy_btc + fees_btc_per_block)
    )
