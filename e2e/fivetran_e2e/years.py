"""Dates before year 1: CrateDB stores them (year 0000 is a valid timestamp, and Fivetran's destination
tester sends 0000-01-01), Python's `datetime` does not.

The Gregorian calendar repeats exactly every 400 years (146,097 days, a whole number of weeks), so the
harness handles such a date 400 years later, where `datetime` works, and shifts the result back.
"""

from __future__ import annotations

import re

CYCLE_YEARS = 400
CYCLE_DAYS = 146_097
CYCLE_MS = CYCLE_DAYS * 86_400_000
_LEADING_YEAR = re.compile(r"^\s*(-?)(\d{4,})")


def into_range(text: str) -> tuple[str, int]:
    """`text` with its leading year moved into `datetime`'s range, and the years added (0 if none)."""
    match = _LEADING_YEAR.match(text)
    if match is None:
        return text, 0
    year = int(match[2]) * (-1 if match[1] else 1)
    if year >= 1:
        return text, 0
    shift = ((1 - year) // CYCLE_YEARS + 1) * CYCLE_YEARS
    return f"{year + shift:04d}" + text[match.end() :], shift


def shifted_back(text: str, shift: int) -> str:
    """ISO text produced for a date moved by `into_range`, with its leading year moved back."""
    if not shift:
        return text
    match = _LEADING_YEAR.match(text)
    if match is None:
        raise ValueError("no leading year to shift back")
    year = int(match[2]) - shift
    shown = f"-{-year:04d}" if year < 0 else f"{year:04d}"
    return shown + text[match.end() :]
