"""Instants as CrateDB keeps them: whole milliseconds since 1970-01-01T00:00:00Z, for any year.

CrateDB returns timestamps as epoch milliseconds and accepts ISO-8601 text, and its range includes year
0000 (which Python's `datetime` cannot represent; Fivetran's destination tester sends 0000-01-01). So the
destination converts between the two with calendar arithmetic on the proleptic Gregorian calendar
instead of `datetime`: days from a civil date and back (H. Hinnant, "chrono-Compatible Low-Level Date
Algorithms", public domain).
"""

from __future__ import annotations

import re

MS_PER_DAY = 86_400_000
_ISO = re.compile(
    r"(?P<year>[+-]?\d{4,})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<offset>[zZ]|[+-]\d{2}(?::?\d{2})?)?"
)


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap_year(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def valid_date(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (negative before it)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The (year, month, day) of a day count since 1970-01-01; the inverse of `days_from_civil`."""
    days += 719_468
    era = days // 146_097
    day_of_era = days - era * 146_097
    year_of_era = (day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day


def offset_minutes(offset: str | None) -> int:
    """Minutes east of UTC of an ISO offset (`Z`, `+02`, `+0230`, `-02:30`; None is UTC)."""
    if offset is None or offset in ("z", "Z"):
        return 0
    digits = offset[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return -minutes if offset[0] == "-" else minutes


def epoch_ms(text: str) -> int:
    """Milliseconds since the epoch of ISO-8601 text (no offset: UTC); digits below 1 ms are dropped."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError("not an ISO-8601 date or date-time")
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    if not valid_date(year, month, day):
        raise ValueError("not a valid calendar date")
    fraction = ((match["fraction"] or "") + "000")[:3]
    clock = (int(match["hour"] or 0) * 60 + int(match["minute"] or 0) - offset_minutes(match["offset"])) * 60
    clock = (clock + int(match["second"] or 0)) * 1000 + int(fraction)
    return days_from_civil(year, month, day) * MS_PER_DAY + clock


def iso_ms(ms: int, zone: bool = True) -> str:
    """ISO text of an epoch-millisecond value in UTC, e.g. 0000-01-01T00:00:00.000Z (no `Z` if not
    `zone`, for columns without a time zone)."""
    days, rest = divmod(ms, MS_PER_DAY)
    year, month, day = civil_from_days(days)
    seconds, millis = divmod(rest, 1000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    sign = "-" if year < 0 else ""
    text = f"{sign}{abs(year):04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}"
    return text + "Z" if zone else text
