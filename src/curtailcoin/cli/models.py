"""``curtailcoin models``: the miner catalogue, and users' own models."""

from __future__ import annotations

import math

import typer
from rich.table import Table
from sqlalchemy import delete

from curtailcoin.cli.common import console, engine_for, fail, settings_and_logging
from curtailcoin.db.reference_tables import miner_models
from curtailcoin.db.upsert import upsert
from curtailcoin.miners import MinerModel
from curtailcoin.pipeline import prepare_database
from curtailcoin.reference import load_miner_models

app = typer.Typer(help="Miner models: the shipped catalogue and your own.", no_args_is_help=True)


@app.command("list")
def list_models() -> None:
    """Every model with its key, hashrate, power and efficiency; tracked ones marked."""
    settings = settings_and_logging()
    engine = engine_for(settings)
    prepare_database(engine)
    with engine.connect() as conn:
        models = load_miner_models(conn)
    table = Table(title="Miner models")
    for column in ("Key", "Model", "TH/s", "W", "J/TH", "Year", "Tracked", "Custom"):
        table.add_column(column)
    for model in models.values():
        table.add_row(
            model.key,
            f"{model.manufacturer} {model.model_name}",
            f"{model.hashrate_th:g}",
            f"{model.power_w:g}",
            f"{model.efficiency_j_per_th:.1f}",
            str(model.release_year or ""),
            "yes" if model.key in settings.tracked_models else "",
            "yes" if model.is_custom else "",
        )
    console.print(table)


def _number(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"invalid {option} {text!r}: expected a number > 0") from None


@app.command("add")
def add_model(
    key: str = typer.Argument(..., help="Upper-case key, e.g. MY_RIG."),
    hashrate_text: str = typer.Option(
        ..., "--hashrate-th", metavar="TH/S", help="Hashrate in TH/s (> 0)."
    ),
    power_text: str = typer.Option(
        ..., "--power-w", metavar="W", help="Power at the wall in W (> 0)."
    ),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    manufacturer: str = typer.Option("custom", "--manufacturer"),
) -> None:
    """Add (or update) a custom model; every API view and --models then accept it."""
    settings = settings_and_logging()
    try:
        hashrate_th = _number(hashrate_text, "--hashrate-th")
        power_w = _number(power_text, "--power-w")
        if not (math.isfinite(power_w) and power_w > 0):
            raise ValueError(f"miner model {key}: power_w must be > 0, got {power_w!r}")
        model = MinerModel.custom(
            key, hashrate_th, power_w, model_name=name, manufacturer=manufacturer
        )
    except ValueError as exc:
        fail(str(exc))
    engine = engine_for(settings)
    prepare_database(engine)
    with engine.begin() as conn:
        existing = load_miner_models(conn).get(model.key)
        if existing is not None and not existing.is_custom:
            fail(f"model {model.key} is in the shipped catalogue: choose another key")
        upsert(
            conn,
            miner_models,
            [
                {
                    "model_key": model.key,
                    "manufacturer": model.manufacturer,
                    "model_name": model.model_name,
                    "hashrate_th": model.hashrate_th,
                    "power_w": model.power_w,
                    "efficiency_j_per_th": model.efficiency_j_per_th,
                    "release_year": model.release_year,
                    "is_custom": True,
                }
            ],
            ["model_key"],
        )
    console.print(f"model {model.key} stored ({model.hashrate_th:g} TH/s, {model.power_w:g} W)")


@app.command("remove")
def remove_model(key: str = typer.Argument(..., help="Key of a custom model.")) -> None:
    """Remove a custom model (the shipped catalogue cannot be removed)."""
    settings = settings_and_logging()
    engine = engine_for(settings)
    prepare_database(engine)
    key = key.strip().upper()
    with engine.begin() as conn:
        existing = load_miner_models(conn).get(key)
        if existing is None or not existing.is_custom:
            customs = sorted(k for k, m in load_miner_models(conn).items() if m.is_custom)
            fail(f"unknown custom model {key!r}: allowed {', '.join(customs) or '(none)'}")
        conn.execute(delete(miner_models).where(miner_models.c.model_key == key))
    console.print(f"model {key} removed")
