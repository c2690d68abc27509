"""The destination's tables as the e2e core sees them, and how they evolve from sync to sync.

A table's target definition comes from warehouse.db after a sync (DuckDB types, refined by declarations);
`evolve` turns the current definition plus a target into the AlterTable request Fivetran would send:
columns are added and widened, never dropped; STRING capacities grow in powers of two.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fivetran_proto import common_pb2

from . import naming
from .data_types import FivetranType, row_of
from .operations import DeclaredTable
from .warehouse import WarehouseTable

SYNCED = "_fivetran_synced"
DELETED = "_fivetran_deleted"
FIVETRAN_ID = "_fivetran_id"
SYSTEM_TYPES = {
    SYNCED: FivetranType(common_pb2.UTC_DATETIME),
    DELETED: FivetranType(common_pb2.BOOLEAN),
    FIVETRAN_ID: FivetranType(common_pb2.STRING),
}
# CrateDB's own per-row columns (CrateDB source SysColumns.java). The destination documents that a Fivetran
# column of one of these names is stored with one more leading underscore (`_id` -> `__id`).
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


def crate_column_name(name: str) -> str:
    """The name of the CrateDB column that should hold Fivetran's column `name`."""
    return "_" + name if name in CRATEDB_SYSTEM_COLUMNS else name


@dataclass
class DestColumn:
    name: str
    type: FivetranType
    primary_key: bool = False
    string_byte_length: int | None = None

    def to_proto(self) -> common_pb2.Column:
        column = common_pb2.Column(name=self.name, type=self.type.type, primary_key=self.primary_key)  # type: ignore[arg-type]
        if self.type.type == common_pb2.DECIMAL:
            column.params.decimal.precision = self.type.precision or 38
            column.params.decimal.scale = self.type.scale or 0
        elif self.type.type == common_pb2.STRING and self.string_byte_length:
            column.params.string_byte_length = self.string_byte_length
        return column

    @classmethod
    def from_proto(cls, column: Any) -> DestColumn:
        data_type = int(column.type)
        precision = scale = None
        length = None
        if column.HasField("params"):
            if column.params.HasField("decimal"):
                precision, scale = column.params.decimal.precision, column.params.decimal.scale
            elif column.params.HasField("string_byte_length"):
                length = column.params.string_byte_length
        return cls(column.name, FivetranType(data_type, precision, scale), column.primary_key, length)


@dataclass
class DestTable:
    schema: str
    name: str
    columns: list[DestColumn]

    def column(self, name: str) -> DestColumn | None:
        return next((column for column in self.columns if column.name == name), None)

    def to_proto(self) -> common_pb2.Table:
        return common_pb2.Table(name=self.name, columns=[column.to_proto() for column in self.columns])

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def byte_capacity(length: int) -> int:
    """Fivetran's STRING capacity: the observed maximum byte length rounded up to a power of two."""
    return 1 << max(length - 1, 0).bit_length() if length > 1 else 1


def target_table(dest_schema: str, table: WarehouseTable, declared: DeclaredTable | None) -> DestTable:
    """The definition the destination should have after this sync: warehouse.db's columns and keys, typed
    from DuckDB and refined by the declaration where DuckDB cannot tell (XML is VARCHAR in DuckDB)."""
    declared_types: dict[str, int] = {}
    if declared is not None:
        declared_types = {naming.column_name(c.name): c.type for c in declared.columns if c.type}
    columns = []
    for column in table.columns:
        column_type = SYSTEM_TYPES.get(column.name) or column.fivetran_type
        declared_type = declared_types.get(column.name)
        if column_type.type == common_pb2.STRING and declared_type and row_of(declared_type).from_varchar:
            column_type = FivetranType(declared_type)
        columns.append(DestColumn(column.name, column_type, column.primary_key))
    return DestTable(dest_schema, table.name, columns)


def evolve(current: DestTable, target: DestTable, lengths: Mapping[str, int]) -> tuple[DestTable, bool]:
    """The AlterTable definition: current columns kept (never dropped), target types and keys applied,
    missing columns added, STRING capacities widened to fit `lengths`."""
    changed = False
    columns: list[DestColumn] = []
    wanted = {column.name: column for column in target.columns}
    for column in current.columns:
        new = DestColumn(column.name, column.type, column.primary_key, column.string_byte_length)
        want = wanted.get(column.name)
        if want is not None:
            if want.type != column.type:
                new.type = want.type
                new.string_byte_length = None
                changed = True
            if want.primary_key != column.primary_key:
                new.primary_key = want.primary_key
                changed = True
        elif column.primary_key:
            new.primary_key = False  # a key column the warehouse no longer keys on
            changed = True
        if new.type.type == common_pb2.STRING and new.string_byte_length and new.name in lengths:
            needed = byte_capacity(lengths[new.name])
            if needed > new.string_byte_length:
                new.string_byte_length = needed
                changed = True
        columns.append(new)
    known = {column.name for column in current.columns}
    for column in target.columns:
        if column.name not in known:
            length = byte_capacity(lengths[column.name]) if column.name in lengths else None
            columns.append(DestColumn(column.name, column.type, column.primary_key, length))
            changed = True
    return DestTable(current.schema, current.name, columns), changed
