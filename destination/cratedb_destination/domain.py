"""The destination's small domain core: Fivetran's system columns, the kinds of batch files, and a table
as Fivetran defines it. Table and column names themselves are validated and quoted in
`sql/identifiers.py`; Fivetran types and columns live in the type registry (`type_mapping.py`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from fivetran_proto import common_pb2

from cratedb_destination.errors import InvalidRequest, UserActionRequired
from cratedb_destination.sql.identifiers import TableRef, stored_name, validate_column_name
from cratedb_destination.type_mapping import ColumnSpec, spec_from_proto, spec_to_proto, with_json_storage

# Columns Fivetran adds to the tables it writes (SDK guide, "System columns"; SDK history guide).
SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
FIVETRAN_ID = "_fivetran_id"
START = "_fivetran_start"
END = "_fivetran_end"
ACTIVE = "_fivetran_active"
HISTORY_COLUMNS = (START, END, ACTIVE)


class FileKind(str, enum.Enum):
    """The kinds of batch files of WriteBatch and WriteHistoryBatch, in the order they are applied."""

    EARLIEST_START = "earliest_start"
    REPLACE = "replace"
    UPDATE = "update"
    DELETE = "delete"

    def __str__(self) -> str:
        return self.value

    @property
    def request_field(self) -> str:
        """The request's repeated field holding files of this kind (e.g. `replace_files`)."""
        return f"{self.value}_files"


@dataclass(frozen=True)
class TableSchema:
    """A table: its name and columns in table order (with Fivetran types and key flags)."""

    ref: TableRef
    columns: tuple[ColumnSpec, ...] = field(default_factory=tuple)

    @property
    def keys(self) -> list[str]:
        return [spec.name for spec in self.columns if spec.primary_key]

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.columns]

    def column(self, name: str) -> ColumnSpec | None:
        for spec in self.columns:
            if spec.name == name:
                return spec
        return None

    def with_json_storage(self, json_storage: str) -> TableSchema:
        """The table with its JSON columns stored as the `json_storage` setting says for new columns
        (`type_mapping.with_json_storage`); existing columns keep theirs (`services/schema.keep_storage`)."""
        return TableSchema(self.ref, tuple(with_json_storage(spec, json_storage) for spec in self.columns))

    def to_proto(self) -> Any:
        return common_pb2.Table(name=self.ref.table, columns=[spec_to_proto(spec) for spec in self.columns])

    @classmethod
    def from_proto(cls, schema: str, table: Any) -> TableSchema:
        """Validate a request's `Table`: names CrateDB can hold, no duplicates, supported types."""
        ref = TableRef(schema, table.name)
        if not table.columns:
            raise InvalidRequest(f"table {ref} is defined without columns")
        stored: dict[str, str] = {}
        specs = []
        for proto_column in table.columns:
            name = validate_column_name(proto_column.name, str(ref))
            if name in stored.values():
                raise UserActionRequired(f"table {ref} defines column {name!r} twice")
            clash = stored.get(stored_name(name))
            if clash is not None:
                raise UserActionRequired(
                    f"table {ref} defines columns {clash!r} and {name!r}, which CrateDB would both store as "
                    f"{stored_name(name)!r} (a CrateDB system column name gets one more leading underscore). "
                    "Rename one of them in the source or exclude it from the sync."
                )
            stored[stored_name(name)] = name
            specs.append(spec_from_proto(proto_column, str(ref)))
        return cls(ref, tuple(specs))
