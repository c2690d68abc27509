"""Fivetran naming: the destination names `fivetran debug` gives to a connector's source names.

These are the documented, observed rules of the local tester (FIVETRAN naming, its default). The harness
needs them because the recorded operations carry source names while `warehouse.db` and CrateDB hold
destination names. Collisions are not resolved here, just as the tester does not resolve them.
"""

from __future__ import annotations

import re
import unicodedata

DEFAULT_SCHEMA = "tester"

_NOT_WORD = re.compile(r"[^A-Za-z0-9_]")
_LOWER_UPPER = re.compile(r"(?<=[a-z])(?=[A-Z])")
_DIGIT_EDGE = re.compile(r"(?<=[0-9])(?=[^0-9])|(?<=[^0-9])(?=[0-9])")
_UNDERSCORES = re.compile(r"_{2,}")
_LEADING_UNDERSCORES_BEFORE_LETTER = re.compile(r"^_+(?=[a-z])")


def _strip_accents(name: str) -> str:
    decomposed = unicodedata.normalize("NFD", name)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def column_name(source: str) -> str:
    """Destination name of a column: ASCII snake_case, split at case and digit boundaries."""
    name = _NOT_WORD.sub("_", _strip_accents(source))
    name = _LOWER_UPPER.sub("_", name)
    name = _DIGIT_EDGE.sub("_", name).lower()
    name = _UNDERSCORES.sub("_", name)
    if name[:1].isdigit():
        name = "_" + name
    return name


def table_name(source: str) -> str:
    """Destination name of a table: like a column, minus leading underscores that precede a letter."""
    return _LEADING_UNDERSCORES_BEFORE_LETTER.sub("", column_name(source))


def schema_name(source: str | None, base: str = DEFAULT_SCHEMA) -> str:
    """Destination schema: `tester`, or `tester_<schema>` lower-cased with non-word characters as `_`."""
    if source is None:
        return base
    return _NOT_WORD.sub("_", f"{base}_{source}").lower()
