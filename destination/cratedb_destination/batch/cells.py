"""The values a batch-file cell can take once the file's two tokens have been recognised."""

from __future__ import annotations

import enum
from typing import Final


class Unmodified(enum.Enum):
    """Type of the `UNMODIFIED` sentinel; an enum so that it stays a singleton across pickling and copies."""

    UNMODIFIED = "UNMODIFIED"

    def __repr__(self) -> str:
        return "UNMODIFIED"

    __str__ = __repr__


UNMODIFIED: Final = Unmodified.UNMODIFIED
"""A cell that equalled the file's `unmodified_string`: keep the value the destination already has."""

Cell = str | None | Unmodified
"""One cell: the text as written, `None` for the file's `null_string`, or `UNMODIFIED`."""
