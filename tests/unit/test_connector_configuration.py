"""Configuration and state errors of the reference connector name the offending key."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fivetran_e2e.capture import SyncFailed, capture_sync, load_connector_module

CONNECTOR_DIR = Path(__file__).resolve().parents[2] / "connector"
DEFAULTS: dict[str, str] = json.loads((CONNECTOR_DIR / "configuration.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def connector_module() -> ModuleType:
    return load_connector_module(CONNECTOR_DIR)


INVALID = [
    ("seed", "1.5", "whole number"),
    ("seed", "-1", "between 0 and"),
    ("start_date", "2024-13-01", "YYYY-MM-DD"),
    ("start_date", "1900-01-01", "must lie between"),
    ("device_count", "0", "between 1 and"),
    ("device_count", "many", "whole number"),
    ("sensors_per_device", "33", "between 1 and 32"),
    ("readings_per_sync", "", "whole number"),
    ("readings_per_sync", "100000001", "between 1 and 100000000"),
    ("sync_window_minutes", "0", "between 1 and"),
    ("checkpoint_interval", "0", "between 1 and"),
    ("truncate_every_n_syncs", "-3", "between 0 and"),
    ("fail_after_operations", "x", "whole number"),
]


@pytest.mark.parametrize(("key", "value", "message"), INVALID)
def test_invalid_value_names_the_key(
    connector_module: ModuleType, key: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=f"configuration key '{key}' must") as error:
        connector_module.validate_configuration({**DEFAULTS, key: value})
    assert message in str(error.value)


def test_unknown_key_is_rejected(connector_module: ModuleType) -> None:
    with pytest.raises(ValueError, match=r"unknown configuration key.*'readings_per_synk'"):
        connector_module.validate_configuration({**DEFAULTS, "readings_per_synk": "10"})


def test_non_string_value_names_the_key(connector_module: ModuleType) -> None:
    with pytest.raises(ValueError, match="configuration key 'seed' must be a string"):
        connector_module.validate_configuration({**DEFAULTS, "seed": 42})


def test_defaults_apply_to_missing_keys(connector_module: ModuleType) -> None:
    settings = connector_module.validate_configuration({})
    shipped = connector_module.validate_configuration(DEFAULTS)
    assert settings == shipped  # configuration.json documents exactly the defaults
    assert settings.readings_per_sync == 240 and settings.truncate_every_n_syncs == 3


def test_invalid_configuration_fails_the_sync_before_anything_is_emitted() -> None:
    with pytest.raises(SyncFailed, match="configuration key 'device_count'") as failure:
        capture_sync(CONNECTOR_DIR, {**DEFAULTS, "device_count": "0"})
    assert failure.value.result.operations == []


BAD_STATES: list[tuple[Any, str]] = [
    ({"syncs_completed": "1", "cursor": "2024-01-01T01:00:00Z"}, "state key 'syncs_completed'"),
    ({"syncs_completed": 1, "cursor": "yesterday"}, "state key 'cursor'"),
    ({"syncs_completed": 1}, "state key 'cursor'"),
    (
        {"syncs_completed": 1, "cursor": "2024-01-01T01:00:00Z", "resume": {"stage": "x", "offset": 1}},
        "unknown stage 'x'",
    ),
    (
        {
            "syncs_completed": 1,
            "cursor": "2024-01-01T01:00:00Z",
            "resume": {"stage": "readings", "offset": -1},
        },
        "state key 'resume'",
    ),
]


@pytest.mark.parametrize(("state", "message"), BAD_STATES)
def test_invalid_state_names_the_key(state: Any, message: str) -> None:
    with pytest.raises(SyncFailed, match=message) as failure:
        capture_sync(CONNECTOR_DIR, DEFAULTS, state)
    assert failure.value.result.operations == []
