"""The one place where schema, table and column names become SQL.

Every name is validated against CrateDB's naming rules (so a Fivetran name CrateDB cannot hold fails early,
with a message naming it) and then double-quoted with embedded quotes doubled, so no name can change the
meaning of a statement. Quoting also keeps the case and lets reserved words through.

CrateDB reserves its system column names (`_id`, `_version`, ...; CrateDB source SysColumns.java) and, from
6.2 on, refuses writes to them (CrateDB 6.2.0 release notes). Fivetran sources use some of them for data:
MongoDB keys every collection by `_id`. Such a column is stored under its name with one more leading
underscore (`_id` -> `__id`, `stored_name`), everywhere a column name becomes SQL; the rest of the
destination keeps speaking Fivetran's name, and DescribeTable maps the stored name back through the
metadata record (`metadata.py`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cratedb_destination.errors import InvalidName

# Longest relation name CrateDB accepts, in UTF-8 bytes, counting "schema.table" (CrateDB source
# IndexName.java).
MAX_RELATION_NAME_BYTES = 255

# Characters a schema or table name must not contain: \ / * ? " < > | , # . and any whitespace.
_FORBIDDEN_RELATION_CHARS = re.compile(r'[\\/*?"<>|,#.\s]')
# Characters a column name must not contain: a dot, an opening subscript bracket, tab, CR, LF.
_FORBIDDEN_COLUMN_CHARS = re.compile(r"[.\[\t\r\n]")

# Names CrateDB reserves for its own per-row columns (CrateDB source SysColumns.java); a user column cannot
# take them, so such a Fivetran column is stored under `stored_name`.
CRATEDB_SYSTEM_COLUMNS = frozenset(
    {
        "_id",
        "_version",
        "_score",
        "_uid",
        "_doc",
        "_raw",
        "_seq_no",
        "_primary_term",
        "_tombstone",
        "_fetchid",
        "_docid",
    }
)


def stored_name(name: str) -> str:
    """The name CrateDB stores Fivetran's column `name` under: a system column name gets one more leading
    underscore (`_id` -> `__id`), every other name is kept."""
    return "_" + name if name in CRATEDB_SYSTEM_COLUMNS else name


def quote(name: str) -> str:
    """`name` as a double-quoted identifier; callers must have validated it."""
    return '"' + name.replace('"', '""') + '"'


def _check_relation_part(kind: str, name: str) -> None:
    if not name:
        raise InvalidName(f"the {kind} name is empty; CrateDB needs a non-empty {kind} name")
    if "\x00" in name:
        raise InvalidName(f"{kind} name {name!r} contains a NUL character, which CrateDB cannot store")
    bad = _FORBIDDEN_RELATION_CHARS.search(name)
    if bad:
        raise InvalidName(
            f"{kind} name {name!r} contains {bad.group()!r}; CrateDB {kind} names must not contain "
            '\\ / * ? " < > | , # . or whitespace. Rename it in the source or exclude it from the sync.'
        )
    if name[0] in "-+":
        raise InvalidName(f"{kind} name {name!r} starts with {name[0]!r}, which CrateDB does not allow")
    if name == "_all":
        raise InvalidName(f"{kind} name '_all' is reserved by CrateDB")


def validate_schema_name(name: str) -> str:
    _check_relation_part("schema", name)
    return name


def validate_table_name(name: str) -> str:
    _check_relation_part("table", name)
    return name


def validate_column_name(name: str, table: str | None = None) -> str:
    where = f" in table {table!r}" if table else ""
    if not name:
        raise InvalidName(f"a column name{where} is empty; CrateDB needs non-empty column names")
    if "\x00" in name:
        raise InvalidName(f"column name {name!r}{where} contains a NUL character, which CrateDB cannot store")
    bad = _FORBIDDEN_COLUMN_CHARS.search(name)
    if bad:
        raise InvalidName(
            f"column name {name!r}{where} contains {bad.group()!r}; CrateDB column names must not contain "
            "a dot, '[', tab, carriage return or line feed. Rename the column or exclude it from the sync."
        )
    return name


@dataclass(frozen=True)
class TableRef:
    """A validated, schema-qualified table name; `.sql` is the quoted form to put into statements."""

    schema: str
    table: str

    def __post_init__(self) -> None:
        validate_schema_name(self.schema)
        validate_table_name(self.table)
        size = len(f"{self.schema}.{self.table}".encode())
        if size > MAX_RELATION_NAME_BYTES:
            raise InvalidName(
                f"table name {self.schema}.{self.table} is {size} bytes in UTF-8; CrateDB allows at most "
                f"{MAX_RELATION_NAME_BYTES} bytes for schema plus table name"
            )

    @property
    def sql(self) -> str:
        return f"{quote(self.schema)}.{quote(self.table)}"

    def sibling(self, table: str) -> TableRef:
        """Another table in the same schema (e.g. the scratch table of a rebuild)."""
        return TableRef(self.schema, table)

    def __str__(self) -> str:
        return f"{self.schema}.{self.table}"


def column(name: str) -> str:
    """Fivetran's column `name` as the validated, quoted name of the CrateDB column that stores it."""
    return quote(stored_name(validate_column_name(name)))


def column_list(names: Iterable[str]) -> str:
    """Comma-separated quoted column names, e.g. for INSERT column lists and PRIMARY KEY clauses."""
    return ", ".join(column(name) for name in names)


def literal(text: str) -> str:
    """A single-quoted SQL string literal; only for values that cannot be parameters (e.g. in DDL)."""
    return "'" + text.replace("'", "''") + "'"
