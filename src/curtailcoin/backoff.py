"""The one backoff policy: exponential, capped, with full jitter.

Retry ``n`` (1 = the first retry) waits ``uniform(0, min(max_s, base_s × 2^(n−1)))`` seconds.
Full jitter spreads retries of many clients that failed together (AWS Architecture Blog,
"Exponential Backoff And Jitter"); the HTTP client, the reconciliation's per-date retries and the
worker's job retries all wait by this rule, each with its own base and cap.
"""

from __future__ import annotations

import random


def delay_s(attempt: int, base_s: float, max_s: float) -> float:
    """Seconds to wait before retry number ``attempt`` (>= 1)."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, not {attempt}")
    return random.uniform(0.0, min(max_s, base_s * 2.0 ** (attempt - 1)))
