"""CurtailCoin: Bitcoin mining potential of Great Britain's curtailed wind energy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curtailcoin.notebook import Database

__version__ = "0.1.0"


def open(url: str, tracked_models: Sequence[str] | None = None) -> Database:
    """A database (``sqlite:///curtailcoin.db``, ``postgresql://…``) read into pandas
    DataFrames (``pip install "curtailcoin[analysis]"``; docs/notebooks.md). Imported only
    when called, so ``import curtailcoin`` stays light."""
    try:
        from curtailcoin.notebook import Database
    except ModuleNotFoundError as exc:  # pandas or pyarrow absent
        raise ModuleNotFoundError(
            f'curtailcoin.open needs {exc.name}: pip install "curtailcoin[analysis]"'
        ) from exc
    return Database(url, tracked_models)
