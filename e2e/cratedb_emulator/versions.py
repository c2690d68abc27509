"""The CrateDB version the emulator pretends to be, and the features that depend on it."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_VERSION = "6.4.3"

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int
    patch: int

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if not match:
            raise ValueError(f"CrateDB version must look like 6.4.3, got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)))

    def at_least(self, text: str) -> bool:
        return self >= Version.parse(text)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


# Feature gates (release where CrateDB introduced the behaviour).
UNDERSCORE_COLUMNS = "6.2.0"  # before: names matching the system-column pattern are rejected
CREATE_SCHEMA = "6.2.0"
UUID_TYPE = "6.2.0"
NUMERIC_STORAGE = "5.9.0"
NUMERIC_STRICT_FIT = "5.9.1"  # NUMERIC(p, s) rejects values with too many integral digits (NumericType)
DROP_COLUMN = "5.5.0"
RENAME_COLUMN = "5.6.0"
DATE_STORAGE = "6.5.0"
CREATE_TABLE_LIKE = "6.3.0"
COLUMN_DEFAULT_ALTER = "6.3.0"
VALUES_DEFAULT = "6.3.0"
STATEMENT_MAX_LENGTH = "6.0.0"
INSERT_SELECT_FAIL_FAST = "6.0.0"
BULK_ERROR_PAYLOAD = "5.10.0"
FLOAT_VECTOR = "5.5.0"
