"""Rows of `type_edge_cases`: the extremes of every declared type, chosen to be well defined everywhere.

Dates and timestamps reach from 0001-01-01 to 9999-12-31T23:59:59.999, the range both the Connector SDK
(Python's `datetime`, so no year 0000) and CrateDB accept; FLOAT and DOUBLE include their smallest normal
values; some timestamps are given as ISO text with a non-UTC offset.

Deliberately absent: NaN and infinities (Fivetran's tester stores NaN as NULL), sub-millisecond
timestamps (CrateDB keeps milliseconds), DECIMAL values with more digits than the declared scale (the tester
rounds them), NUL characters, FLOAT values that a 32-bit float cannot hold exactly, and subnormal FLOAT and
DOUBLE values (`fivetran debug` stores 1.4e-45 and 5e-324 as 0.0).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from typing import Any

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SHORT_MIN, SHORT_MAX = -(2**15), 2**15 - 1
FLOAT32_MAX = 3.4028234663852886e38
DOUBLE_MAX = 1.7976931348623157e308
DOUBLE_MIN_NORMAL = 2.2250738585072014e-308
FLOAT32_MIN_NORMAL = 1.1754943508222875e-38
# 28 integer digits and 10 fraction digits: the whole of DECIMAL(38,10)
DECIMAL_38_10_MAX = "9" * 28 + "." + "9" * 10
DECIMAL_38_0_MAX = 10**38 - 1
LARGE_TEXT_BYTES = 40_000  # above CrateDB's 32,766-byte limit for indexed text
UNICODE_SAMPLE = "Grüße, 日本語, Ελληνικά, עברית, emoji 🚀🛰️, math 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, CJK ext-B 𠜎𠜱"
AWKWARD_TEXT = (
    "comma, \"double quotes\", 'single', back\\slash, tab\there,\nnewline,\r\ncrlf, trailing space "
)
EDITED_CASE_ID = 6
EARLIEST_CASE_ID, LATEST_CASE_ID, OFFSET_CASE_ID = 8, 9, 10


def large_text(label: str, size: int = LARGE_TEXT_BYTES) -> str:
    """Deterministic multi-line text of at least `size` UTF-8 bytes."""
    line = f"{label}: Ünïcödé payload line with 𝄞 and 🛰️ so that byte and character lengths differ.\n"
    repeats = size // len(line.encode("utf-8")) + 1
    return "".join(f"{n:05d} {line}" for n in range(repeats))


def edge_case_rows(seed: int) -> list[dict[str, Any]]:
    """The rows upserted in the first sync (small and fixed, so a list is fine)."""
    blob = random.Random(f"{seed}/edge-blob").randbytes(30_000)  # base64 of it exceeds 32 KB
    utc = timezone.utc
    return [
        {
            "case_id": 1,
            "c_boolean": True,
            "c_short": SHORT_MAX,
            "c_int": INT32_MAX,
            "c_long": INT64_MAX,
            "c_decimal": DECIMAL_38_10_MAX,
            "c_decimal_integral": DECIMAL_38_0_MAX,
            "c_float": FLOAT32_MAX,
            "c_double": DOUBLE_MAX,
            "c_naive_date": date(2299, 12, 31),
            "c_naive_datetime": datetime(2299, 12, 31, 23, 59, 59, 999000),
            "c_utc_datetime": datetime(2299, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
            "c_binary": bytes(range(256)),
            "c_xml": '<?xml version="1.0" encoding="UTF-8"?><fleet><site name="Zürich">🚀</site></fleet>',
            "c_string": "maximum values",
            "c_json": {
                "depth": 1,
                "child": {"depth": 2, "child": {"depth": 3, "list": [1, 2.5, None, True]}},
            },
        },
        {
            "case_id": 2,
            "c_boolean": False,
            "c_short": SHORT_MIN,
            "c_int": INT32_MIN,
            "c_long": INT64_MIN,
            "c_decimal": "-" + DECIMAL_38_10_MAX,
            "c_decimal_integral": -DECIMAL_38_0_MAX,
            "c_float": -16777216.0,
            "c_double": -DOUBLE_MAX,
            "c_naive_date": date(1900, 1, 1),
            "c_naive_datetime": datetime(1900, 1, 1, 0, 0, 0),
            "c_utc_datetime": datetime(1900, 1, 1, 0, 0, 0, tzinfo=utc),
            "c_binary": b"\x00",
            "c_xml": "<empty/>",
            "c_string": "minimum values",
            "c_json": [],
        },
        {"case_id": 3},  # every other column NULL
        {
            "case_id": 4,
            "c_boolean": None,
            "c_short": 0,
            "c_int": 0,
            "c_long": 0,
            "c_decimal": "0.0000000001",
            "c_decimal_integral": 0,
            "c_float": 0.5,
            "c_double": DOUBLE_MIN_NORMAL,
            "c_naive_date": date(2000, 2, 29),
            "c_naive_datetime": datetime(1970, 1, 1, 0, 0, 0),
            "c_utc_datetime": datetime(1969, 12, 31, 23, 59, 59, 1000, tzinfo=utc),
            "c_binary": b"",
            "c_xml": "",
            "c_string": "",
            "c_json": {},
        },
        {
            "case_id": 5,
            "c_boolean": True,
            "c_short": -1,
            "c_int": -1,
            "c_long": -1,
            "c_decimal": "-0.0000000001",
            "c_decimal_integral": 1,
            "c_float": -0.25,
            "c_double": 3.141592653589793,
            "c_naive_date": date(2024, 12, 31),
            "c_naive_datetime": datetime(2024, 2, 29, 12, 30, 45, 123000),
            "c_utc_datetime": datetime(2024, 2, 29, 12, 30, 45, 123000, tzinfo=utc),
            "c_binary": blob,
            "c_xml": "<notes>" + large_text("xml") + "</notes>",
            "c_string": large_text("string"),
            "c_json": {"notes": large_text("json"), "unicode": UNICODE_SAMPLE},
        },
        {
            "case_id": EDITED_CASE_ID,
            "c_boolean": False,
            "c_short": 12345,
            "c_int": 1234567890,
            "c_long": 1234567890123456789,
            "c_decimal": "1234567890.0123456789",
            "c_decimal_integral": 12345678901234567890,
            "c_float": 1.5,
            "c_double": 0.1,
            "c_naive_date": date(1999, 12, 31),
            "c_naive_datetime": datetime(1999, 12, 31, 23, 59, 59),
            "c_utc_datetime": datetime(2000, 1, 1, 0, 0, 0, tzinfo=utc),
            "c_binary": "Grüße 🚀".encode(),
            "c_xml": "<a><![CDATA[<not-a-tag> & 🚀]]></a>",
            "c_string": UNICODE_SAMPLE,
            "c_json": {"unicode": UNICODE_SAMPLE, "awkward": AWKWARD_TEXT, "numbers": [0, -1, 1e-7, 2**53]},
        },
        {
            "case_id": 7,
            "c_boolean": True,
            "c_short": 7,
            "c_int": 7,
            "c_long": 7,
            "c_decimal": 7,
            "c_decimal_integral": "-7",
            "c_float": 7.0,
            "c_double": 7.0,
            "c_naive_date": date(1970, 1, 1),
            "c_naive_datetime": datetime(2299, 1, 1, 0, 0, 0),
            "c_utc_datetime": datetime(1900, 1, 1, 0, 0, 0, 1000, tzinfo=utc),
            "c_binary": b"\xff\xfe\xfd",
            "c_xml": "<x a='1'>ü</x>",
            "c_string": AWKWARD_TEXT,
            "c_json": "a JSON string, not an object",
        },
        {
            "case_id": EARLIEST_CASE_ID,  # the earliest moments, and the smallest positive normal floats
            "c_boolean": False,
            "c_short": 1,
            "c_int": 1,
            "c_long": 1,
            "c_decimal": "0.0000000001",
            "c_decimal_integral": -1,
            "c_float": FLOAT32_MIN_NORMAL,
            "c_double": DOUBLE_MIN_NORMAL,
            "c_naive_date": date(1, 1, 1),
            "c_naive_datetime": datetime(1, 1, 1, 0, 0, 0),
            "c_utc_datetime": datetime(1, 1, 1, 0, 0, 0, tzinfo=utc),
            "c_binary": b"\x00\x00",
            "c_xml": "<earliest/>",
            "c_string": "earliest values",
            "c_json": None,
        },
        {
            "case_id": LATEST_CASE_ID,  # the latest moments (to the ms), the largest negative normal floats
            "c_boolean": True,
            "c_short": SHORT_MAX - 1,
            "c_int": INT32_MAX - 1,
            "c_long": INT64_MAX - 1,
            "c_decimal": "-0.0000000001",
            "c_decimal_integral": DECIMAL_38_0_MAX - 1,
            "c_float": -FLOAT32_MIN_NORMAL,
            "c_double": -DOUBLE_MIN_NORMAL,
            "c_naive_date": date(9999, 12, 31),
            "c_naive_datetime": datetime(9999, 12, 31, 23, 59, 59, 999000),
            "c_utc_datetime": datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=utc),
            "c_binary": b"\xff" * 3,
            "c_xml": "<latest/>",
            "c_string": "latest values",
            "c_json": {"year": 9999},
        },
        {
            "case_id": OFFSET_CASE_ID,  # dates and timestamps as text; the UTC one crosses a month in UTC
            "c_boolean": True,
            "c_short": 10,
            "c_int": 10,
            "c_long": 10,
            "c_decimal": "10.5",
            "c_decimal_integral": "10",
            "c_float": 10.5,
            "c_double": 10.5,
            "c_naive_date": "2024-02-29",
            "c_naive_datetime": "2024-02-29T23:30:00.500",
            "c_utc_datetime": "2024-02-29T23:30:00.500-05:00",
            "c_binary": b"offsets",
            "c_xml": "<offsets/>",
            "c_string": "timestamps with offsets",
            "c_json": {"offset": "-05:00"},
        },
    ]


def edge_case_updates(sync_number: int) -> list[dict[str, Any]]:
    """Partial updates of five edge-case rows in every sync after the first.

    Each modifies a different set of columns (together: every column but the key), so the batch of updates
    mixes five sets of modified columns and every type is written once as a modified and many times as an
    unmodified cell. Some set a value to NULL; none sets an empty string (an update of a row that is not in
    the same batch turns "" into NULL in Fivetran's tester).
    """
    shift = timezone(timedelta(hours=9 + sync_number % 3, minutes=30))
    return [
        {
            "case_id": EDITED_CASE_ID,
            "c_boolean": sync_number % 2 == 0,
            "c_string": f"updated in sync {sync_number} 🛰️",
            "c_xml": None,
            "c_json": {"sync": sync_number, "nested": {"deeper": [sync_number, None, {"k": "v"}]}},
        },
        {"case_id": 1, "c_short": SHORT_MIN + sync_number, "c_int": None, "c_long": INT64_MIN + sync_number},
        {
            "case_id": 2,
            "c_decimal": decimal_units(sync_number),
            "c_decimal_integral": -DECIMAL_38_0_MAX + sync_number,
            "c_float": FLOAT32_MAX,
            "c_double": DOUBLE_MIN_NORMAL * sync_number,
        },
        {
            "case_id": 4,
            "c_naive_date": date(1, 1, 1) + timedelta(days=sync_number),
            "c_naive_datetime": datetime(9999, 12, 31, 23, 59, 59, 999000) - timedelta(days=sync_number),
            "c_utc_datetime": datetime(2024, 12, 31, 23, 0, sync_number, 250000, tzinfo=shift),
        },
        {"case_id": 7, "c_binary": bytes([sync_number % 256]) * 5},
    ]


def decimal_units(units: int) -> str:
    """`units` in the last place of DECIMAL(38,10), as text."""
    whole, fraction = divmod(units, 10**10)
    return f"{whole}.{fraction:010d}"
