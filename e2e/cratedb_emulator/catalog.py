"""The emulator's own catalog: what CrateDB knows about schemas, tables and columns.

DuckDB only stores the rows; everything CrateDB-specific (types, primary key, NOT NULL, defaults, column
policy, table settings, INDEX OFF / columnstore flags, dynamic object keys) lives here. `Table` values are
replaced, not mutated, on DDL so concurrent readers always see a consistent snapshot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from . import errors, versions
from . import types as t
from .casts import ObjectState
from .lexer import quote_ident
from .types import CrateType
from .versions import Version

DEFAULT_SCHEMA = "doc"
SYSTEM_SCHEMAS = ("information_schema", "sys", "pg_catalog", "blob")
SYSTEM_COLUMNS = frozenset(
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
_SYSTEM_PATTERN = re.compile(r"^_([a-z][_a-z]*)*[a-z]$")
# CrateDB source Strings.java `INVALID_FILENAME_CHARS`, checked by IndexName.java `validate`.
_BAD_RELATION_CHARS = frozenset('\\/*?"<>|, ')
_BAD_CHARS_SHOWN = "[" + ", ".join(sorted(_BAD_RELATION_CHARS)) + "]"
MAX_IDENTIFIER_BYTES = 255

DEFAULT_SETTINGS: dict[str, Any] = {
    "number_of_replicas": "0-1",
    "refresh_interval": 1000,
    "column_policy": "strict",
    "translog.durability": "REQUEST",
    "codec": "default",
    "mapping.total_fields.limit": 1000,
}
KNOWN_SETTINGS = frozenset(
    {
        "number_of_replicas",
        "number_of_shards",
        "refresh_interval",
        "column_policy",
        "translog.durability",
        "translog.sync_interval",
        "translog.flush_threshold_size",
        "write.wait_for_active_shards",
        "codec",
        "mapping.total_fields.limit",
        "mapping.depth.limit",
        "blocks.read_only",
        "blocks.read_only_allow_delete",
        "blocks.read",
        "blocks.write",
        "blocks.metadata",
        "number_of_routing_shards",
        "unassigned.node_left.delayed_timeout",
        "soft_deletes.retention_lease.period",
        "max_ngram_diff",
        "max_shingle_diff",
        "merge.scheduler.max_thread_count",
        "store.type",
        "warmer.enabled",
        "allocation.max_retries",
    }
)


def is_known_setting(name: str) -> bool:
    return name in KNOWN_SETTINGS or name.startswith("routing.allocation.")


@dataclass(frozen=True)
class Column:
    name: str
    ctype: CrateType
    not_null: bool = False
    default_sql: str | None = None
    generated_sql: str | None = None
    index_off: bool = False
    fulltext: bool = False
    columnstore: bool = True

    @property
    def limited_text(self) -> bool:
        """Subject to the 32,766-byte term limit unless both INDEX OFF and columnstore=false."""
        base = self.ctype.inner if self.ctype.kind == t.ARRAY else self.ctype
        if base is None or not base.is_text():
            return False
        return not (self.index_off and not self.columnstore) and not self.fulltext


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    clustered_by: str | None = None
    shards: int = 4
    partitioned_by: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SETTINGS))
    checks: tuple[tuple[str, str], ...] = ()
    # Dynamic object sub-columns, by object column; mutated (under the write lock) as keys appear.
    objects: dict[str, ObjectState] = field(default_factory=dict)

    @property
    def fqn(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> Column | None:
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def object_state(self, column: str) -> ObjectState:
        state = self.objects.get(column)
        if state is None:
            state = ObjectState(limit=int(self.settings.get("mapping.total_fields.limit", 1000)))
            self.objects[column] = state
        state.base_fields = len(self.columns) + sum(
            len(s.known) for name, s in self.objects.items() if name != column
        )
        return state

    @property
    def column_policy(self) -> str:
        return str(self.settings.get("column_policy", "strict")).lower()

    @property
    def refresh_interval_ms(self) -> int:
        try:
            return int(self.settings.get("refresh_interval", 1000))
        except (TypeError, ValueError):
            return 1000

    def with_columns(self, columns: tuple[Column, ...]) -> Table:
        return replace(self, columns=columns)


def validate_relation_name(name: str, kind: str = "Relation", schema: str | None = None) -> None:
    """A schema name (`kind="Schema"`) or a table name on its own, as CrateDB checks it.

    CrateDB source RelationName.java (`ensureValidName`): an empty schema name or one with a dot raises
    InvalidSchemaNameException `schema name "<s>" is invalid.`, which HttpError.java maps to
    RELATION_INVALID_NAME (4002, HTTP 400); an empty table name or one with a dot is InvalidRelationName
    (4002), whose message names `<schema>.<name>`. The other characters are checked on the index name
    (`validate_index_name`).
    """
    if kind == "Schema":
        if not name or "." in name:
            raise errors.CrateError(
                errors.INVALID_TABLE_NAME, "InvalidSchemaNameException", f'schema name "{name}" is invalid.'
            )
        validate_index_name(name)
        return
    full = name if schema is None else f"{schema}.{name}"
    if not name:
        raise _invalid_relation(full, "Name cannot be empty")
    if "." in name:
        raise _invalid_relation(full, "Name can't contain '.'")


def validate_index_name(index: str) -> None:
    """CrateDB source IndexName.java (`validate`): no character of Strings.java `INVALID_FILENAME_CHARS`,
    no `#`, no leading `-`/`+`, at most 255 bytes; else InvalidRelationName (4002)."""
    size = len(index.encode("utf-8"))
    if set(index) & _BAD_RELATION_CHARS:
        raise _invalid_relation(index, "Must not contain the following characters " + _BAD_CHARS_SHOWN)
    if "#" in index:
        raise _invalid_relation(index, "Must not contain '#'")
    if index[:1] in ("-", "+"):
        raise _invalid_relation(index, "Must not start with '-', or '+'")
    if size > MAX_IDENTIFIER_BYTES:
        raise _invalid_relation(index, f"Index name is too long, ({size} > {MAX_IDENTIFIER_BYTES})")


def _invalid_relation(name: str, reason: str) -> errors.CrateError:
    """CrateDB source InvalidRelationName.java: `Relation name '<name>' is invalid. <reason>`, code 4002."""
    return errors.CrateError(
        errors.INVALID_TABLE_NAME, "InvalidRelationName", f"Relation name '{name}' is invalid. {reason}"
    )


def validate_table_name(schema: str, name: str) -> None:
    """A table about to be created or renamed: RelationName.java (`ensureValidName`, then
    `ensureValidForRelationCreation`: a read-only system schema or `_all` is an IllegalArgumentException,
    which reaches clients as SQLParseException, code 4000, SQLExceptions.java), then the index name, which
    is the table name in `doc` and `<schema>.<table>` elsewhere (`indexNameOrAlias`;
    TransportCreateTable.java validates it)."""
    validate_relation_name(schema, "Schema")
    validate_relation_name(name, schema=schema)
    if schema in SYSTEM_SCHEMAS:
        raise errors.illegal_argument(f"Cannot create relation in read-only schema: {schema}")
    if schema.lower() == "_all" or name.lower() == "_all":
        raise errors.illegal_argument('"_all" cannot be used as schema or table name')
    validate_index_name(name if schema == DEFAULT_SCHEMA else f"{schema}.{name}")


def validate_column_name(name: str, version: Version) -> None:
    if not name:
        raise errors.invalid_column_name(name, "is an invalid column name")
    if "." in name:
        raise errors.invalid_column_name(name, "contains a dot")
    if "[" in name:
        raise errors.invalid_column_name(
            name, "conflicts with subscript pattern, square brackets are not allowed"
        )
    if any(char in name for char in "\t\r\n"):
        raise errors.invalid_column_name(name, "contains illegal whitespace character")
    if name in SYSTEM_COLUMNS:
        raise errors.invalid_column_name(name, "conflicts with system column")
    if not version.at_least(versions.UNDERSCORE_COLUMNS) and _SYSTEM_PATTERN.match(name):
        raise errors.invalid_column_name(name, "conflicts with system column pattern")
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        raise errors.invalid_column_name(
            name, f"exceeds the maximum identifier length of {MAX_IDENTIFIER_BYTES}"
        )


class Catalog:
    """Schemas and tables, keyed by exact (case-sensitive) names."""

    def __init__(self, version: Version) -> None:
        self.version = version
        self.tables: dict[tuple[str, str], Table] = {}
        self.explicit_schemas: set[str] = set()
        # Bumped on every change, so cached query translations never outlive the catalog they were made for.
        self.generation = 0

    def changed(self) -> None:
        self.generation += 1

    # ---- lookups ------------------------------------------------------------------------------------
    def schemas(self) -> list[str]:
        names = {DEFAULT_SCHEMA, *SYSTEM_SCHEMAS, *self.explicit_schemas}
        names.update(schema for schema, _ in self.tables)
        return sorted(names)

    def schema_exists(self, schema: str) -> bool:
        return schema in self.schemas()

    def get(self, schema: str, name: str) -> Table | None:
        return self.tables.get((schema, name))

    def require(self, schema: str, name: str, shown: str | None = None) -> Table:
        table = self.tables.get((schema, name))
        if table is None:
            if not self.schema_exists(schema):
                raise errors.schema_unknown(schema)
            raise errors.relation_unknown(shown or f"{schema}.{name}")
        return table

    def tables_in(self, schema: str) -> list[Table]:
        return [table for (s, _), table in sorted(self.tables.items()) if s == schema]

    # ---- changes --------------------------------------------------------------------------------------
    def put(self, table: Table) -> None:
        self.tables[(table.schema, table.name)] = table
        self.changed()

    def remove(self, schema: str, name: str) -> None:
        self.tables.pop((schema, name), None)
        self.changed()

    # ---- persistence -----------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "explicit_schemas": sorted(self.explicit_schemas),
            "tables": [_table_to_json(table) for table in self.tables.values()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        self.explicit_schemas = set(data.get("explicit_schemas", []))
        self.tables = {}
        for item in data.get("tables", []):
            table = _table_from_json(item)
            self.tables[(table.schema, table.name)] = table
        self.changed()


def encode_name(name: str) -> str:
    """DuckDB matches identifiers case-insensitively, CrateDB does not: `Id` is stored as `^id`.

    ASCII upper-case letters become `^` + the lower-case letter and `^` becomes `^^`, so names that differ
    only in case stay distinct in DuckDB and the encoding is reversible. All-lower-case names are unchanged.
    """
    if not any("A" <= char <= "Z" or char == "^" for char in name):
        return name
    return "".join(
        "^^" if char == "^" else "^" + char.lower() if "A" <= char <= "Z" else char for char in name
    )


def decode_name(text: str) -> str:
    if "^" not in text:
        return text
    result: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "^" and index + 1 < len(text):
            following = text[index + 1]
            result.append("^" if following == "^" else following.upper())
            index += 2
            continue
        result.append(char)
        index += 1
    return "".join(result)


def phys(name: str) -> str:
    """Quoted DuckDB identifier of a CrateDB column, table or schema name."""
    return quote_ident(encode_name(name))


def physical_name(database: str, schema: str, name: str) -> str:
    """Fully qualified DuckDB name of a CrateDB table (the catalog part avoids DuckDB name lookups)."""
    return f"{quote_ident(database)}.{phys(schema)}.{phys(name)}"


def _table_to_json(table: Table) -> dict[str, Any]:
    return {
        "schema": table.schema,
        "name": table.name,
        "columns": [
            {
                "name": c.name,
                "type": t.to_json(c.ctype),
                "not_null": c.not_null,
                "default_sql": c.default_sql,
                "generated_sql": c.generated_sql,
                "index_off": c.index_off,
                "fulltext": c.fulltext,
                "columnstore": c.columnstore,
            }
            for c in table.columns
        ],
        "primary_key": list(table.primary_key),
        "clustered_by": table.clustered_by,
        "shards": table.shards,
        "partitioned_by": list(table.partitioned_by),
        "settings": table.settings,
        "checks": [list(check) for check in table.checks],
        "objects": {name: {k: t.to_json(v) for k, v in s.known.items()} for name, s in table.objects.items()},
    }


def _table_from_json(data: dict[str, Any]) -> Table:
    columns = tuple(
        Column(
            name=c["name"],
            ctype=t.from_json(c["type"]),
            not_null=c["not_null"],
            default_sql=c["default_sql"],
            generated_sql=c["generated_sql"],
            index_off=c["index_off"],
            fulltext=c.get("fulltext", False),
            columnstore=c["columnstore"],
        )
        for c in data["columns"]
    )
    table = Table(
        schema=data["schema"],
        name=data["name"],
        columns=columns,
        primary_key=tuple(data["primary_key"]),
        clustered_by=data["clustered_by"],
        shards=data["shards"],
        partitioned_by=tuple(data["partitioned_by"]),
        settings=data["settings"],
        checks=tuple((c[0], c[1]) for c in data["checks"]),
    )
    for name, known in data.get("objects", {}).items():
        state = table.object_state(name)
        state.known.update({k: t.from_json(v) for k, v in known.items()})
    return table
