"""The write path of a settlement date, as folders of one step each:

``inputs`` (bad input, before anything happens) → ``fetch`` (periods → ``FetchedDate``, every
error kept) → ``store`` (the headline rule; period / farm-period replacement) → ``derive``
(calculations and summaries from what was stored) — ``reingest`` runs them in order, the date
replaced in one transaction.

The names are loaded on first use (a module ``__getattr__``), so ``from curtailcoin.pipeline
import BadInput`` costs only the settlement calendar: the CLI's ``--help`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "BadInput": "inputs",
    "max_days": "inputs",
    "validate_date": "inputs",
    "validate_days": "inputs",
    "validate_range": "inputs",
    "FetchedDate": "fetch",
    "ensure_network_conditions": "fetch",
    "fetch_date": "fetch",
    "fetch_periods": "fetch",
    "refresh_wind": "fetch",
    "StoredDate": "store",
    "replace_farm_period": "store",
    "replace_periods": "store",
    "DerivedDate": "derive",
    "derive_date": "derive",
    "ReingestResult": "result",
    "prepare_database": "reingest",
    "reingest_date": "reingest",
    "resolve_model_keys": "reingest",
    "write_fetched": "reingest",
}

if TYPE_CHECKING:
    from curtailcoin.pipeline.derive import DerivedDate, derive_date
    from curtailcoin.pipeline.fetch import (
        FetchedDate,
        ensure_network_conditions,
        fetch_date,
        fetch_periods,
        refresh_wind,
    )
    from curtailcoin.pipeline.inputs import (
        BadInput,
        max_days,
        validate_date,
        validate_days,
        validate_range,
    )
    from curtailcoin.pipeline.reingest import (
        prepare_database,
        reingest_date,
        resolve_model_keys,
        write_fetched,
    )
    from curtailcoin.pipeline.result import ReingestResult
    from curtailcoin.pipeline.store import StoredDate, replace_farm_period, replace_periods


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "BadInput",
    "DerivedDate",
    "FetchedDate",
    "ReingestResult",
    "StoredDate",
    "derive_date",
    "ensure_network_conditions",
    "fetch_date",
    "fetch_periods",
    "max_days",
    "prepare_database",
    "refresh_wind",
    "reingest_date",
    "replace_farm_period",
    "replace_periods",
    "resolve_model_keys",
    "validate_date",
    "validate_days",
    "validate_range",
    "write_fetched",
]
