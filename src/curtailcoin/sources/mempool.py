"""mempool.space: difficulty adjustments (and prices, used by the price module)."""

from __future__ import annotations

from typing import Any

from curtailcoin.config import Settings
from curtailcoin.sources.http import JsonHttpClient, RetryPolicy


def mempool_client(settings: Settings, **overrides: Any) -> JsonHttpClient:
    options: dict[str, Any] = {
        "concurrency": 2,
        "requests_per_second": 2.0,
        "timeout_s": settings.request_timeout_s,
        "policy": RetryPolicy(
            max_tries=settings.max_tries,
            max_time_s=settings.max_retry_time_s,
            backoff_base_s=settings.backoff_base_s,
            backoff_max_s=settings.backoff_max_s,
        ),
    }
    options.update(overrides)
    return JsonHttpClient(
        settings.mempool_base_url, setting="CURTAILCOIN_MEMPOOL_BASE_URL", **options
    )
