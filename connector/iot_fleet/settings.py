"""The connector's configuration: parsed once, validated with messages that name the offending key.

Fivetran passes every configuration value as a string, so numbers and dates are parsed here. Missing keys
take their defaults; unknown keys are rejected because a misspelt key would otherwise be ignored silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

# key -> (default, minimum, maximum) for the integer settings
INTEGER_SETTINGS: dict[str, tuple[int, int, int]] = {
    "seed": (42, 0, 2**63 - 1),
    "device_count": (12, 1, 100_000),
    "sensors_per_device": (4, 1, 32),
    "readings_per_sync": (240, 1, 100_000_000),
    "sync_window_minutes": (60, 1, 7 * 24 * 60),
    "checkpoint_interval": (500, 1, 10_000_000),
    "truncate_every_n_syncs": (3, 0, 1_000_000),
    "fail_after_operations": (0, 0, 2**63 - 1),
}
DEFAULT_START_DATE = "2024-01-01"
START_DATE_KEY = "start_date"
EARLIEST_START = date(1971, 1, 1)
LATEST_START = date(2200, 1, 1)
KNOWN_KEYS = (*INTEGER_SETTINGS, START_DATE_KEY)


@dataclass(frozen=True)
class FleetSettings:
    """Validated configuration; every field is documented in connector/README.md."""

    seed: int
    start: datetime  # UTC midnight of start_date: where the first sync window begins
    device_count: int
    sensors_per_device: int
    readings_per_sync: int
    sync_window_minutes: int
    checkpoint_interval: int
    truncate_every_n_syncs: int
    fail_after_operations: int  # test knob: 0 = never fail


def parse_settings(configuration: Any) -> FleetSettings:
    """Turn the string-valued configuration into settings.

    Args:
        configuration: the dict Fivetran passes to schema() and update().

    Returns:
        The validated settings.

    Raises:
        ValueError: naming the key that is unknown, not a string, or out of range.
    """
    if not isinstance(configuration, dict):
        raise ValueError("configuration must be a JSON object of string values")
    unknown = sorted(key for key in configuration if key not in KNOWN_KEYS)
    if unknown:
        raise ValueError(
            f"unknown configuration key(s) {', '.join(repr(k) for k in unknown)}; "
            f"known keys: {', '.join(KNOWN_KEYS)}"
        )
    numbers = {key: _integer(configuration, key, *limits) for key, limits in INTEGER_SETTINGS.items()}
    return FleetSettings(start=_start(configuration), **numbers)


def _text(configuration: dict[str, Any], key: str, default: str) -> str:
    value = configuration.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"configuration key '{key}' must be a string, got {type(value).__name__}")
    return value.strip()


def _integer(configuration: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    text = _text(configuration, key, str(default))
    try:
        number = int(text, 10)
    except ValueError:
        raise ValueError(f"configuration key '{key}' must be a whole number, got {text!r}") from None
    if not low <= number <= high:
        raise ValueError(f"configuration key '{key}' must be between {low} and {high}, got {number}")
    return number


def _start(configuration: dict[str, Any]) -> datetime:
    text = _text(configuration, START_DATE_KEY, DEFAULT_START_DATE)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"configuration key '{START_DATE_KEY}' must be a date YYYY-MM-DD, got {text!r}"
        ) from None
    if not EARLIEST_START <= day <= LATEST_START:
        raise ValueError(
            f"configuration key '{START_DATE_KEY}' must lie between {EARLIEST_START} and {LATEST_START}, "
            f"got {day}"
        )
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
