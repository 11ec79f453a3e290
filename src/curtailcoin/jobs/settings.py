"""Worker and queue knobs (``CURTAILCOIN_WORKER_*``), separate from the core settings.

They share the core settings' sources: the environment, ``.env`` and the TOML file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from curtailcoin.jobs.schedule import ScheduleEntry


class WorkerSettings(BaseSettings):
    """How a ``curtailcoin worker`` behaves; every value has a production default."""

    model_config = SettingsConfigDict(
        env_prefix="CURTAILCOIN_WORKER_",
        env_file=".env",
        extra="ignore",
        toml_file=os.environ.get("CURTAILCOIN_CONFIG_FILE", "curtailcoin.toml"),
    )

    concurrency: int = Field(default=2, ge=1, le=64, description="jobs run at once per worker")
    heartbeat_s: float = Field(default=10.0, gt=0, description="worker heartbeat interval")
    stalled_after_s: float = Field(
        default=60.0, gt=0, description="a worker silent this long is dead; its jobs are retried"
    )
    stalled_check_s: float = Field(default=15.0, gt=0, description="how often to look for them")
    poll_s: float = Field(default=5.0, gt=0, description="job polling fallback to LISTEN/NOTIFY")
    shutdown_grace_s: float = Field(
        default=300.0, gt=0, description="on SIGTERM, wait this long for running jobs"
    )
    max_attempts: int = Field(default=6, ge=1, le=50, description="tries of a failing date")
    retry_base_s: float = Field(default=30.0, ge=0, description="first retry delay")
    retry_max_s: float = Field(default=3600.0, ge=0, description="longest retry delay")
    periodic_max_delay_s: float = Field(
        default=600.0, gt=0, description="a periodic run missed by more than this is skipped"
    )
    schedule: bool = Field(default=True, description="defer the periodic jobs")
    jobs: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="comma-separated periodic jobs to run (default: all of them)"
    )

    @field_validator("jobs", mode="before")
    @classmethod
    def _split_jobs(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            from curtailcoin.jobs.schedule import SCHEDULE

            known = [e.name for e in SCHEDULE]
            for name in value:
                if name not in known:
                    raise ValueError(f"unknown job {name!r}: allowed {', '.join(known)}")
        return value

    def scheduled_entries(self) -> tuple[ScheduleEntry, ...]:
        """The schedule's entries this worker runs (``jobs``; all when empty)."""
        from curtailcoin.jobs.schedule import SCHEDULE

        if not self.schedule:
            return ()
        return tuple(e for e in SCHEDULE if not self.jobs or e.name in self.jobs)

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
            TomlConfigSettingsSource(settings_cls, toml_table_header=("worker",)),
            file_secret_settings,
        )


@lru_cache(maxsize=1)
def get_worker_settings() -> WorkerSettings:
    return WorkerSettings()
