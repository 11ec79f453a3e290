"""The ASIC miner catalogue (SPEC §5): stable upper-case keys, nameplate hashrate and power.

The packaged ``data/asic_miners.csv`` holds 23 models (nameplate, stock mode, at the wall). Keys
are derived from the model name without the brand word, upper-cased, with ``+`` spelled ``PLUS``
and words joined by ``_``: "Antminer S19j Pro" → ``S19J_PRO``, "Whatsminer M30S++" →
``M30S_PLUS_PLUS``. The seed system's ``S19J_PRO`` (100 TH/s, 3,050 W), ``S9`` (13.5 TH/s,
1,323 W) and ``M20S`` (68 TH/s, 3,360 W) keep their keys and figures.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files

BRAND_WORDS = ("Antminer", "Whatsminer", "Avalon")
"""Brand words dropped from a model name when deriving its key."""

_KEY_RE = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)*$")


@dataclass(frozen=True)
class MinerModel:
    """One miner model: ``hashrate_th`` in TH/s, ``power_w`` in W at the wall, J/TH efficiency."""

    key: str
    manufacturer: str
    model_name: str
    hashrate_th: float
    power_w: float
    efficiency_j_per_th: float
    release_year: int | None
    is_custom: bool = False

    def __post_init__(self) -> None:
        if not _KEY_RE.match(self.key):
            raise ValueError(
                f"invalid miner model key {self.key!r}: use upper-case letters, digits and '_'"
            )
        for name in ("hashrate_th", "power_w", "efficiency_j_per_th"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"miner model {self.key}: {name} must be > 0, got {value!r}")

    @classmethod
    def custom(
        cls,
        key: str,
        hashrate_th: float,
        power_w: float,
        *,
        model_name: str | None = None,
        manufacturer: str = "custom",
        release_year: int | None = None,
    ) -> MinerModel:
        """A user-defined model; the efficiency is derived as ``power_w / hashrate_th``."""
        if not (math.isfinite(hashrate_th) and hashrate_th > 0):
            raise ValueError(f"miner model {key}: hashrate_th must be > 0, got {hashrate_th!r}")
        return cls(
            key=key.strip().upper(),
            manufacturer=manufacturer,
            model_name=model_name or key,
            hashrate_th=hashrate_th,
            power_w=power_w,
            efficiency_j_per_th=power_w / hashrate_th,
            release_year=release_year,
            is_custom=True,
        )


def model_key(model_name: str) -> str:
    """The stable key of a model name: brand word dropped, ``+`` → ``PLUS``, words joined by ``_``.

    >>> model_key("Antminer S19j Pro"), model_key("Whatsminer M30S++"), model_key("Antminer S21+")
    ('S19J_PRO', 'M30S_PLUS_PLUS', 'S21_PLUS')
    """
    words = [w for w in model_name.split() if w.lower() not in {b.lower() for b in BRAND_WORDS}]
    text = " ".join(words).replace("+", " PLUS ")
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", text) if p]
    if not parts:
        raise ValueError(f"cannot derive a miner model key from {model_name!r}")
    return "_".join(p.upper() for p in parts)


def load_catalogue() -> dict[str, MinerModel]:
    """Every model in the packaged ``asic_miners.csv``, keyed by its stable key (file order)."""
    text = (files("curtailcoin") / "data" / "asic_miners.csv").read_text(encoding="utf-8")
    catalogue: dict[str, MinerModel] = {}
    for row in csv.DictReader(io.StringIO(text)):
        key = model_key(row["model"])
        assert key not in catalogue, f"duplicate miner model key {key} in asic_miners.csv"
        year = row["release_year"].strip()
        catalogue[key] = MinerModel(
            key=key,
            manufacturer=row["manufacturer"].strip(),
            model_name=row["model"].strip(),
            hashrate_th=float(row["hashrate_th"]),
            power_w=float(row["power_w"]),
            efficiency_j_per_th=float(row["efficiency_j_per_th"]),
            release_year=int(year) if year else None,
        )
    return catalogue


def resolve_models(names: Iterable[str], catalogue: Mapping[str, MinerModel]) -> list[MinerModel]:
    """The models named by ``names`` (keys, case-insensitive, surrounding blanks ignored).

    Order is kept and repeats are dropped. An unknown name raises ``ValueError`` with a one-line
    message naming the value and the allowed keys.
    """
    by_upper = {key.upper(): model for key, model in catalogue.items()}
    resolved: list[MinerModel] = []
    seen: set[str] = set()
    for name in names:
        wanted = name.strip().upper()
        model = by_upper.get(wanted)
        if model is None:
            raise ValueError(
                f"unknown miner model {name.strip()!r}: allowed {', '.join(catalogue)}"
            )
        if model.key not in seen:
            seen.add(model.key)
            resolved.append(model)
    return resolved


def parse_models_option(value: str) -> list[str]:
    """Split a comma-separated option such as ``"S19J_PRO, s9"`` into upper-case keys.

    An empty option or an empty item (``"S9,,M20S"``) raises ``ValueError``.
    """
    items = [item.strip() for item in value.split(",")]
    if not value.strip() or any(not item for item in items):
        raise ValueError(
            f"invalid miner model list {value!r}: expected comma-separated keys, e.g. S19J_PRO,S9"
        )
    return [item.upper() for item in items]
