"""Settings from the environment (``CURTAILCOIN_*``), an optional ``.env`` and TOML file.

One object holds every knob so that the CLI, the API and the worker read the same values.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_TRACKED_MODELS = ("S19J_PRO", "S9", "M20S", "S21")


class Settings(BaseSettings):
    """Every configurable value, with its default."""

    model_config = SettingsConfigDict(
        env_prefix="CURTAILCOIN_",
        env_file=".env",
        extra="ignore",
        toml_file=os.environ.get("CURTAILCOIN_CONFIG_FILE", "curtailcoin.toml"),
    )

    database_url: str = "sqlite:///curtailcoin.db"
    elexon_base_url: str = "https://data.elexon.co.uk/bmrs/api/v1"
    mempool_base_url: str = "https://mempool.space/api"
    coingecko_base_url: str = "https://api.coingecko.com/api/v3"

    # HTTP behaviour towards Elexon (and the other sources). Elexon publishes no rate limit:
    # many requests in flight, cut on 429/503 and regrown (sources.politeness); an optional
    # hard cap of request starts per second, unset by default.
    concurrency: int = Field(default=16, ge=1, le=64)
    requests_per_second: float | None = Field(default=None, gt=0)
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_tries: int = Field(default=6, ge=1, le=20)
    max_retry_time_s: float = Field(default=180.0, gt=0)
    backoff_base_s: float = Field(default=0.5, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)

    tracked_models: Annotated[tuple[str, ...], NoDecode] = DEFAULT_TRACKED_MODELS
    bmunit_refresh_max_age_s: float = 86_400.0
    fetch_generation: bool = Field(
        default=True, description="fetch a date's wind generation (AGWS, B1610) with its stack"
    )
    lock_wait_s: float = Field(
        default=300.0, ge=0, description="wait for a date held by another run"
    )

    checkpoint_dir: Path = Path("data/checkpoints")
    log_file: Path | None = None
    log_level: str = "WARNING"  # on stderr; --verbose shows INFO

    source_tolerance_mwh: float = 0.01
    source_tolerance_gbp: float = 0.01

    # The drift guard (``shrink_guard``): an answer removing most of a stored date is held back.
    shrink_max_drop: float = Field(
        default=0.5, gt=0, le=1, description="largest share a measure may fall by"
    )
    shrink_min_records: int = Field(
        default=100, ge=0, description="stored records below which the guard does not apply"
    )

    api_token: str | None = None

    @field_validator("tracked_models", mode="before")
    @classmethod
    def _split_models(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().upper() for part in value.split(",") if part.strip())
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
            file_secret_settings,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return Settings()
