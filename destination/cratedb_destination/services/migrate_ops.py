"""The Migrate request decoded once (no I/O): one frozen dataclass per operation kind.

`MigrationDetails` nests its operation two oneofs deep (`operation`, then `entity`). `decode` walks them
once, so that the RPC's description, the tables to lock, the early `unsupported` answer and the handler
(`migrate.HANDLERS`, keyed by operation type) all read plain typed fields. Decoding never fails: a request
without an operation decodes to `NoOperation`, which the handler refuses once the RPC answers errors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from fivetran_proto import destination_sdk_pb2 as pb

from cratedb_destination.errors import InvalidRequest
from cratedb_destination.sql.identifiers import TableRef

_SYNC_MODE = "table_sync_mode_migration"
# Not available to partner destinations yet (SDK migration guide): answered `unsupported` before connecting.
_LIVE_MODES = frozenset(
    {pb.SOFT_DELETE_TO_LIVE, pb.HISTORY_TO_LIVE, pb.LIVE_TO_SOFT_DELETE, pb.LIVE_TO_HISTORY}
)


@dataclass(frozen=True)
class Operation:
    """What every operation has: the schema, and the table MigrationDetails names ("" when none)."""

    KIND: ClassVar[str] = ""  # the proto name of the operation (the `entity` for nested ones)

    schema: str
    table: str

    @property
    def name(self) -> str:
        """e.g. "rename_table" or "table_sync_mode_migration HISTORY_TO_SOFT_DELETE", for messages."""
        return self.KIND

    @property
    def ref(self) -> TableRef:
        return TableRef(self.schema, self.table)

    def tables(self) -> list[TableRef]:
        """The tables the operation reads or writes, the one the request names first (for locking)."""
        refs = [self.ref] if self.table else []
        refs += self._other_tables()
        if not refs:
            raise InvalidRequest("the migration names no table")
        return list(dict.fromkeys(refs))

    def _other_tables(self) -> list[TableRef]:
        return []


@dataclass(frozen=True)
class NoOperation(Operation):
    """MigrationDetails without an operation, or (`kind`) a nested one without its entity."""

    kind: str | None

    @property
    def name(self) -> str:
        return self.kind or "unknown operation"

    @property
    def message(self) -> str:
        return (
            f"the {self.kind} migration names no operation"
            if self.kind
            else "the migration names no operation"
        )


@dataclass(frozen=True)
class _AddColumn(Operation):
    """A column added (unless it exists) with a default value, sent as text."""

    column: str
    column_type: int
    default_value: str


@dataclass(frozen=True)
class AddColumnWithDefault(_AddColumn):
    KIND = "add_column_with_default_value"


@dataclass(frozen=True)
class AddColumnInHistoryMode(_AddColumn):
    KIND = "add_column_in_history_mode"
    operation_timestamp: str


@dataclass(frozen=True)
class DropColumnInHistoryMode(Operation):
    KIND = "drop_column_in_history_mode"
    column: str
    operation_timestamp: str


@dataclass(frozen=True)
class DropTable(Operation):
    KIND = "drop_table"


@dataclass(frozen=True)
class _ColumnToColumn(Operation):
    from_column: str
    to_column: str


@dataclass(frozen=True)
class RenameColumn(_ColumnToColumn):
    KIND = "rename_column"


@dataclass(frozen=True)
class CopyColumn(_ColumnToColumn):
    KIND = "copy_column"


@dataclass(frozen=True)
class UpdateColumnValue(Operation):
    KIND = "update_column_value"
    column: str
    value: str


@dataclass(frozen=True)
class _BetweenTables(Operation):
    """An operation that names its tables in from_table/to_table (`table` is then the source, or empty)."""

    from_table: str
    to_table: str

    @property
    def source(self) -> TableRef:
        return TableRef(self.schema, self.from_table)

    @property
    def target(self) -> TableRef:
        return TableRef(self.schema, self.to_table)

    def _other_tables(self) -> list[TableRef]:
        return [self.source, self.target]


@dataclass(frozen=True)
class RenameTable(_BetweenTables):
    KIND = "rename_table"


@dataclass(frozen=True)
class CopyTable(_BetweenTables):
    KIND = "copy_table"


@dataclass(frozen=True)
class CopyTableToHistoryMode(_BetweenTables):
    KIND = "copy_table_to_history_mode"
    soft_deleted_column: str


@dataclass(frozen=True)
class SoftDeleteToHistory(Operation):
    KIND = f"{_SYNC_MODE} SOFT_DELETE_TO_HISTORY"
    soft_deleted_column: str | None  # None when absent or empty


@dataclass(frozen=True)
class HistoryToSoftDelete(Operation):
    KIND = f"{_SYNC_MODE} HISTORY_TO_SOFT_DELETE"
    soft_deleted_column: str | None  # None when absent or empty
    keep_deleted_rows: bool  # true when absent (the SDK migration guide leaves it open)


@dataclass(frozen=True)
class UnsupportedSyncMode(Operation):
    """A sync-mode migration this destination does not do: a LIVE mode (`early`: answered `unsupported`
    before any connection is made), or a type number this protocol version does not know."""

    type: int

    @property
    def name(self) -> str:
        names = pb.TableSyncModeMigrationType.DESCRIPTOR.values_by_number
        return f"{_SYNC_MODE} {names[self.type].name if self.type in names else self.type}"

    @property
    def early(self) -> bool:
        return self.type in _LIVE_MODES


# The operations of MigrationDetails.{add,copy,drop,rename}; their fields carry the entity's field names.
_BY_ENTITY: dict[str, type[Operation]] = {
    cls.KIND: cls
    for cls in (
        AddColumnWithDefault,
        AddColumnInHistoryMode,
        DropColumnInHistoryMode,
        DropTable,
        RenameColumn,
        CopyColumn,
        RenameTable,
        CopyTable,
        CopyTableToHistoryMode,
    )
}
_BASE_FIELDS = frozenset(field.name for field in fields(Operation))


def decode(details: Any) -> Operation:
    """The operation a `fivetran_sdk.v2.MigrationDetails` carries."""
    schema, table = details.schema, details.table
    kind = details.WhichOneof("operation")
    if kind is None:
        return NoOperation(schema, table, None)
    message = getattr(details, kind)
    if kind == "update_column_value":
        return UpdateColumnValue(schema, table, message.column, message.value)
    if kind == _SYNC_MODE:
        return _sync_mode(schema, table, message)
    entity = message.WhichOneof("entity")
    if entity is None:
        return NoOperation(schema, table, kind)
    cls, op = _BY_ENTITY[entity], getattr(message, entity)
    values = {field.name: getattr(op, field.name) for field in fields(cls) if field.name not in _BASE_FIELDS}
    return cls(schema, table, **values)


def _sync_mode(schema: str, table: str, op: Any) -> Operation:
    deleted = (
        op.soft_deleted_column if op.HasField("soft_deleted_column") and op.soft_deleted_column else None
    )
    if op.type == pb.SOFT_DELETE_TO_HISTORY:
        return SoftDeleteToHistory(schema, table, deleted)
    if op.type == pb.HISTORY_TO_SOFT_DELETE:
        keep = op.keep_deleted_rows if op.HasField("keep_deleted_rows") else True
        return HistoryToSoftDelete(schema, table, deleted, keep)
    return UnsupportedSyncMode(schema, table, op.type)
