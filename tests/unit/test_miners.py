"""Tests for the miner catalogue: stable keys, the seed's figures, name resolution."""

from __future__ import annotations

import dataclasses

import pytest

from curtailcoin.miners import (
    MinerModel,
    load_catalogue,
    model_key,
    parse_models_option,
    resolve_models,
)

CATALOGUE = load_catalogue()


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Antminer S19j Pro", "S19J_PRO"),
        ("Antminer S9", "S9"),
        ("Whatsminer M20S", "M20S"),
        ("Antminer S21", "S21"),
        ("Antminer S21+", "S21_PLUS"),
        ("Whatsminer M30S++", "M30S_PLUS_PLUS"),
        ("Avalon A1246", "A1246"),
        ("Antminer S19 XP", "S19_XP"),
        ("Antminer S19k Pro", "S19K_PRO"),
        ("Avalon A16", "A16"),
    ],
)
def test_model_key(name: str, key: str) -> None:
    assert model_key(name) == key
    assert CATALOGUE[key].model_name == name


def test_model_key_needs_a_model() -> None:
    with pytest.raises(ValueError, match="cannot derive"):
        model_key("Antminer")


def test_catalogue_keys() -> None:
    assert len(CATALOGUE) == 23
    assert list(CATALOGUE) == [m.key for m in CATALOGUE.values()]
    assert all(key == key.upper() and " " not in key for key in CATALOGUE)
    assert {"S19J_PRO", "S9", "M20S", "S21"} <= set(CATALOGUE)  # the default tracked set
    assert not any(m.is_custom for m in CATALOGUE.values())


@pytest.mark.parametrize(
    ("key", "hashrate_th", "power_w", "manufacturer"),
    [
        ("S19J_PRO", 100.0, 3050.0, "Bitmain"),
        ("S9", 13.5, 1323.0, "Bitmain"),
        ("M20S", 68.0, 3360.0, "MicroBT"),
    ],
)
def test_seed_figures(key: str, hashrate_th: float, power_w: float, manufacturer: str) -> None:
    model = CATALOGUE[key]
    assert (model.hashrate_th, model.power_w, model.manufacturer) == (
        hashrate_th,
        power_w,
        manufacturer,
    )


def test_catalogue_values_are_consistent() -> None:
    for model in CATALOGUE.values():
        assert model.power_w / model.hashrate_th == pytest.approx(
            model.efficiency_j_per_th, rel=5e-3
        ), model.key
        assert model.release_year is not None and 2016 <= model.release_year <= 2026


def test_model_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        CATALOGUE["S9"].power_w = 1.0  # type: ignore[misc]


def test_resolve_models_case_insensitive_in_order() -> None:
    models = resolve_models([" s9", "S19j_pro", "m20s", "S9"], CATALOGUE)
    assert [m.key for m in models] == ["S9", "S19J_PRO", "M20S"]


def test_resolve_unknown_model() -> None:
    with pytest.raises(ValueError) as info:
        resolve_models(["S9", "S99"], CATALOGUE)
    message = str(info.value)
    assert message.startswith("unknown miner model 'S99': allowed S9, S17, S19, ")
    assert "S19J_PRO" in message and "M30S_PLUS_PLUS" in message
    assert "\n" not in message


def test_parse_models_option() -> None:
    assert parse_models_option("S19J_PRO,S9") == ["S19J_PRO", "S9"]
    assert parse_models_option(" s19j_pro , m20s ") == ["S19J_PRO", "M20S"]
    for bad in ("", "  ", "S9,,M20S", "S9,"):
        with pytest.raises(ValueError, match="invalid miner model list"):
            parse_models_option(bad)


def test_custom_model() -> None:
    custom = MinerModel.custom("my_rig", 150.0, 3000.0)
    assert custom.key == "MY_RIG"
    assert custom.is_custom
    assert custom.efficiency_j_per_th == 20.0
    catalogue = {**CATALOGUE, custom.key: custom}
    assert resolve_models(["my_rig"], catalogue) == [custom]


@pytest.mark.parametrize(
    ("key", "hashrate_th", "power_w", "message"),
    [
        ("BAD KEY", 100.0, 3000.0, "invalid miner model key"),
        ("RIG", 0.0, 3000.0, "hashrate_th must be > 0"),
        ("RIG", 100.0, -1.0, "power_w must be > 0"),
        ("RIG", float("nan"), 3000.0, "hashrate_th must be > 0"),
    ],
)
def test_custom_model_validation(
    key: str, hashrate_th: float, power_w: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        MinerModel.custom(key, hashrate_th, power_w)
