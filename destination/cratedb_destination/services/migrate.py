"""Migrate: the schema-migration operations Fivetran sends outside of AlterTable (SDK migration guide).

Every operation can be re-sent and then leaves the same result: a rename that already happened succeeds,
a copy replaces an earlier copy, column values are set rather than changed, and history versions are
upserted on their primary key. CrateDB cannot change a primary key in place (CrateDB docs
sql/statements/alter-table), so the sync-mode migrations build the new table under a scratch name with one
`INSERT ... (SELECT ...)`, compare its row count with the source query's, and only then swap it in: a
mismatch is a Task and the original table stays as it was. The Fivetran type of every column
(`metadata.MetadataStore`) follows renames, copies and drops.

The request is decoded once (`migrate_ops.decode`); `HANDLERS` maps each operation type to its function.
LIVE sync modes are not available to partner destinations yet (SDK migration guide): they answer
`unsupported`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cratedb_destination.client import Session
from cratedb_destination.domain import ACTIVE, DELETED, END, HISTORY_COLUMNS, START, SYNCED, TableSchema
from cratedb_destination.errors import InvalidRequest, UserActionRequired
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.services import migrate_ops as ops
from cratedb_destination.services import schema
from cratedb_destination.services.history import END_OF_TIME, START_OF_TIME, HistoryTable
from cratedb_destination.services.long_text import LongTextColumns
from cratedb_destination.sql import ddl
from cratedb_destination.sql import migrate as sql
from cratedb_destination.sql.identifiers import TableRef, validate_column_name
from cratedb_destination.table_settings import (
    DEFAULT,
    NO_SETTINGS,
    TableSettings,
    TableSettingsConfig,
    check_partitioning,
)
from cratedb_destination.timestamps import epoch_ms, iso_ms
from cratedb_destination.type_mapping import (
    ALL_TYPES,
    BOOLEAN,
    JSON_TEXT,
    UTC_DATETIME,
    ColumnSpec,
    ConversionError,
    FivetranType,
    text_bytes_over_limit,
    type_name,
    unlimited_text,
    value_converter,
    with_json_storage,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Creation:
    """How the destination creates tables and columns: the configured shards, replicas and partitioning of
    new tables (`table_settings`) and the storage of new JSON columns (`json_storage`)."""

    tables: TableSettingsConfig = NO_SETTINGS
    json_storage: str = JSON_TEXT


# How UpdateColumnValueOperation (a plain string) spells NULL, which the SDK migration guide leaves open:
# the empty string, which is also what an unset proto3 string reads as, or the word NULL in any letter case.
NULL_SPELLINGS = frozenset({"", "null"})

_HISTORY_SPECS = (
    ColumnSpec(START, FivetranType(UTC_DATETIME), primary_key=True),
    ColumnSpec(END, FivetranType(UTC_DATETIME)),
    ColumnSpec(ACTIVE, FivetranType(BOOLEAN)),
)


@dataclass(frozen=True)
class Outcome:
    """What Migrate answers besides success: `unsupported`, or a warning the sync continues after."""

    unsupported: bool = False
    warning: str | None = None


SUCCESS = Outcome()
UNSUPPORTED = Outcome(unsupported=True)


# ---------------------------------------------------------------------------------------------------------
# Helpers


def _existing(session: Session, metadata: MetadataStore, ref: TableRef) -> TableSchema:
    table = schema.describe(session, metadata, ref)
    if table is None:
        raise UserActionRequired(f"table {ref} does not exist")
    return table


def _column(table: TableSchema, name: str) -> ColumnSpec:
    validate_column_name(name, str(table.ref))
    spec = table.column(name)
    if spec is None:
        raise UserActionRequired(f"table {table.ref} has no column {name!r}")
    return spec


def _data_type(data_type: int, where: str) -> FivetranType:
    if data_type not in ALL_TYPES:
        raise InvalidRequest(f"{where}: unsupported column type {type_name(data_type)}")
    return FivetranType(data_type)


def _parameter(
    text: str, ftype: FivetranType, where: str, null_spellings: frozenset[str] = frozenset()
) -> Any:
    """A value sent as text in a migration, converted for a column of type `ftype` (None for NULL)."""
    if text.strip().lower() in null_spellings:
        return None
    try:
        return value_converter(ftype)(text)
    except ConversionError as exc:
        raise UserActionRequired(f"{where}: the value is not a valid {ftype} ({exc})") from None


def _instant(text: str, where: str) -> int:
    """An operation_timestamp (ISO-8601 instant) in epoch milliseconds."""
    try:
        return epoch_ms(str(value_converter(FivetranType(UTC_DATETIME))(text)))
    except (ConversionError, ValueError):
        raise InvalidRequest(f"{where}: operation_timestamp {text!r} is not an ISO-8601 instant") from None


def _scalar_count(session: Session, statement: str, args: Sequence[Any] = ()) -> int:
    rows = session.query(statement, list(args))
    return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _update_all(session: Session, ref: TableRef, statement: str, args: Sequence[Any]) -> int:
    """An UPDATE over many rows: refresh first, since it does not match a full primary key (CrateDB docs
    general/dql/refresh)."""
    session.refresh(ref)
    count = session.execute(statement, list(args))
    session.refresh(ref)
    return count


def _not_a_key(table: TableSchema, spec: ColumnSpec, operation: str) -> None:
    if spec.primary_key:
        raise UserActionRequired(
            f"{operation} on {table.ref}: column {spec.name!r} is part of the primary key, whose values "
            "CrateDB cannot update"
        )


def _too_long(value: Any) -> bool:
    return isinstance(value, str) and text_bytes_over_limit(value) is not None


def _make_room(
    session: Session, metadata: MetadataStore, ref: TableRef, spec: ColumnSpec, value: Any
) -> None:
    """Before a value is written to every row: a text column it does not fit gets unlimited storage."""
    if _too_long(value) and not unlimited_text(spec):
        LongTextColumns(session, metadata, ref).make_room([spec.name])


def _rebuild_from(
    session: Session,
    metadata: MetadataStore,
    current: TableSchema,
    final: Sequence[ColumnSpec],
    inserted: Sequence[str],
    select: str,
    args: Sequence[Any],
    new_table: TableSettings = DEFAULT,
) -> None:
    """Make `current.ref` a table with the columns `final` holding exactly the rows `select` yields.

    `schema.rebuild` builds it under a scratch name, compares the row counts and only then swaps it in; a
    table that does not exist yet (a copy's target) is created empty first, with the settings `new_table`
    (checked against `final`), so that it can be swapped; the rebuild keeps a table's settings.
    """
    target = current.ref
    if not session.table_exists(target):
        check_partitioning(new_table, TableSchema(target, tuple(final)))
        session.execute(ddl.create_table(target, final, if_not_exists=True, settings=new_table))
    insert = sql.insert_select(schema.scratch_table(target), inserted, select)
    schema.rebuild(
        session, metadata, current, final, schema.RowSource(insert, args, sql.count_select(select))
    )


# ---------------------------------------------------------------------------------------------------------
# Operations


def _column_with_default(
    session: Session,
    metadata: MetadataStore,
    table: TableSchema,
    op: ops.AddColumnWithDefault | ops.AddColumnInHistoryMode,
    json_storage: str,
) -> tuple[TableSchema, ColumnSpec, Any]:
    """The column an add-column operation names, added unless it exists (a re-send), with the table as it
    is then and the default value as a parameter. A default too long for indexed text gives a new column
    unlimited storage, and switches an existing one to it. A new JSON column is stored as the
    `json_storage` setting says."""
    ref = table.ref
    validate_column_name(op.column, str(ref))
    where = f"default value of column {op.column!r} of {ref}"
    spec = table.column(op.column)
    if spec is None:
        spec = with_json_storage(
            ColumnSpec(op.column, _data_type(op.column_type, f"column {op.column!r} of {ref}")), json_storage
        )
        ftype = spec.type
        spec = replace(spec, long_text=_too_long(_parameter(op.default_value, ftype, where, NULL_SPELLINGS)))
        session.execute(ddl.add_column(ref, spec))
        table = TableSchema(ref, (*table.columns, spec))
        metadata.write(session, ref, table.columns)
    _not_a_key(table, spec, op.name)
    value = _parameter(op.default_value, spec.type, where, NULL_SPELLINGS)
    _make_room(session, metadata, ref, spec, value)
    return table, spec, value


def add_column_with_default(
    session: Session, metadata: MetadataStore, op: ops.AddColumnWithDefault, creation: Creation = Creation()
) -> Outcome:
    """Add the column unless it exists (a re-send), then set the default on every row.

    CrateDB's ADD COLUMN ... DEFAULT would not fill existing rows (CrateDB docs sql/statements/alter-table)
    and would make later inserts that omit the column take the default instead of NULL, so the column is
    added without one.
    """
    ref = op.ref
    table = _existing(session, metadata, ref)
    _, spec, value = _column_with_default(session, metadata, table, op, creation.json_storage)
    count = _update_all(session, ref, sql.set_column(ref, spec.name, spec.type), [value])
    log.info("migrate %s: column %r set to its default on %d rows", ref, spec.name, count)
    return SUCCESS


def update_column_value(session: Session, metadata: MetadataStore, op: ops.UpdateColumnValue) -> Outcome:
    ref = op.ref
    table = _existing(session, metadata, ref)
    spec = _column(table, op.column)
    _not_a_key(table, spec, "update_column_value")
    value = _parameter(op.value, spec.type, f"new value of column {op.column!r} of {ref}", NULL_SPELLINGS)
    _make_room(session, metadata, ref, spec, value)
    count = _update_all(session, ref, sql.set_column(ref, spec.name, spec.type), [value])
    log.info("migrate %s: column %r updated on %d rows", ref, spec.name, count)
    return SUCCESS


def _new_versions(
    session: Session,
    history: HistoryTable,
    operation: str,
    instant: int,
    column: ColumnSpec,
    value: Any,
    non_null: str | None,
) -> int:
    """Record a schema change at `instant` as a new version of the affected active records (SDK migration
    guide, ADD_COLUMN_IN_HISTORY_MODE and DROP_COLUMN_IN_HISTORY_MODE).

    1. copy the active versions started before `instant` (with a value in `non_null`) to start at it;
    2. set the column on every version starting at `instant`, so that several changes at one instant
       make one version;
    3. close the copied versions at `instant` - 1 ms.
    Step 3 runs only after the copy's row count proved every source version was copied.
    """
    table = history.table
    ref = table.ref
    session.refresh(ref)
    latest = session.query(sql.max_active_start(ref))
    if latest and latest[0][0] is not None and int(latest[0][0]) > instant:
        raise UserActionRequired(
            f"{operation} on {ref}: active versions start after the operation_timestamp "
            f"{iso_ms(instant)} (latest {iso_ms(int(latest[0][0]))}); the change cannot be recorded as "
            "a new version"
        )
    at = iso_ms(instant)
    expected = _scalar_count(session, sql.count_active_before(ref, non_null), [at])
    if expected:
        # The count check, not `SET insert_select_fail_fast` (lost on a new HTTP connection), catches rows
        # that INSERT ... SELECT skipped.
        copied = session.execute(sql.copy_active_versions(ref, table.names, table.keys, non_null), [at, at])
        if copied != expected:
            raise UserActionRequired(
                f"{operation} on {ref}: {expected} active versions needed a new version but {copied} were "
                "written; no version was closed, re-sending the operation repairs this"
            )
    session.refresh(ref)
    session.execute(sql.set_column(ref, column.name, column.type, at_start=True), [value, at])
    if expected:
        session.refresh(ref)
        session.execute(sql.close_active_before(ref, non_null), [iso_ms(instant - 1), at])
    session.refresh(ref)
    return expected


def add_column_in_history_mode(
    session: Session,
    metadata: MetadataStore,
    op: ops.AddColumnInHistoryMode,
    creation: Creation = Creation(),
) -> Outcome:
    ref = op.ref
    table = _existing(session, metadata, ref)
    HistoryTable.of(table)  # a Task before anything changes, unless the table is in history mode
    instant = _instant(op.operation_timestamp, f"add_column_in_history_mode on {ref}")
    table, spec, value = _column_with_default(session, metadata, table, op, creation.json_storage)
    versions = _new_versions(
        session, HistoryTable.of(table), "add_column_in_history_mode", instant, spec, value, None
    )
    log.info("migrate %s: column %r added as a new version of %d records", ref, spec.name, versions)
    return SUCCESS


def drop_column_in_history_mode(
    session: Session, metadata: MetadataStore, op: ops.DropColumnInHistoryMode
) -> Outcome:
    """The column stays (older versions keep their values); records holding a value get a version with
    NULL. A column that does not exist has nothing to record: a warning, the sync continues."""
    ref = op.ref
    table = _existing(session, metadata, ref)
    history = HistoryTable.of(table)
    instant = _instant(op.operation_timestamp, f"drop_column_in_history_mode on {ref}")
    validate_column_name(op.column, str(ref))
    spec = table.column(op.column)
    if spec is None:
        return Outcome(
            warning=f"drop_column_in_history_mode on {ref}: no column {op.column!r}; nothing to record"
        )
    if spec.name in HISTORY_COLUMNS or spec.name == SYNCED:
        raise UserActionRequired(
            f"drop_column_in_history_mode on {ref}: {spec.name!r} is a Fivetran system column"
        )
    _not_a_key(table, spec, "drop_column_in_history_mode")
    versions = _new_versions(session, history, "drop_column_in_history_mode", instant, spec, None, spec.name)
    log.info("migrate %s: column %r dropped as a new version of %d records", ref, spec.name, versions)
    return SUCCESS


def rename_table(session: Session, metadata: MetadataStore, op: ops.RenameTable) -> Outcome:
    source, target = op.source, op.target
    if source == target:
        raise InvalidRequest(f"rename_table: {source} would be renamed to itself")
    has_source, has_target = session.table_exists(source), session.table_exists(target)
    if not has_source and has_target:  # done before; the response may have been lost
        metadata.forget(session, source)
        return SUCCESS
    if not has_source:
        raise UserActionRequired(f"rename_table: neither {source} nor {target} exists")
    if has_target:
        raise UserActionRequired(f"rename_table: {target} exists already, so {source} cannot take its name")
    table = _existing(session, metadata, source)
    metadata.write(session, target, table.columns)  # first, so that a rename that succeeds keeps the types
    session.execute(sql.rename_table(source, target.table))
    metadata.forget(session, source)
    log.info("migrate: renamed table %s to %s", source, target.table)
    return SUCCESS


def rename_column(session: Session, metadata: MetadataStore, op: ops.RenameColumn) -> Outcome:
    ref = op.ref
    table = _existing(session, metadata, ref)
    validate_column_name(op.from_column, str(ref))
    validate_column_name(op.to_column, str(ref))
    old, new = table.column(op.from_column), table.column(op.to_column)
    if old is None and new is not None:  # done before
        return SUCCESS
    if old is None:
        raise UserActionRequired(
            f"rename_column: table {ref} has neither {op.from_column!r} nor {op.to_column!r}"
        )
    if new is not None:
        raise UserActionRequired(f"rename_column: table {ref} has a column {op.to_column!r} already")
    renamed = [replace(spec, name=op.to_column) if spec is old else spec for spec in table.columns]
    metadata.write(session, ref, renamed)
    session.execute(sql.rename_column(ref, old.name, op.to_column))
    log.info("migrate %s: renamed column %r to %r", ref, old.name, op.to_column)
    return SUCCESS


def copy_table(
    session: Session,
    metadata: MetadataStore,
    op: ops.CopyTable,
    creation: Creation = Creation(),
) -> Outcome:
    """A new table with the source's columns, Fivetran types, primary key and rows; a re-send replaces it.

    The copy is a new table: it gets the configured settings of its own name, not the source's.
    """
    source, target = op.source, op.target
    if source == target:
        raise InvalidRequest(f"copy_table: {source} would be copied onto itself")
    table = _existing(session, metadata, source)
    session.refresh(source)
    select = sql.select_rows(source, table.names)
    _rebuild_from(
        session,
        metadata,
        TableSchema(target, table.columns),
        table.columns,
        table.names,
        select,
        [],
        creation.tables.for_table(target),
    )
    log.info("migrate: copied table %s to %s", source, target.table)
    return SUCCESS


def copy_column(session: Session, metadata: MetadataStore, op: ops.CopyColumn) -> Outcome:
    """A new column with the source column's type and params, holding its values (re-sends refill it)."""
    ref = op.ref
    table = _existing(session, metadata, ref)
    source = _column(table, op.from_column)
    validate_column_name(op.to_column, str(ref))
    target = table.column(op.to_column)
    if target is None:
        target = ColumnSpec(op.to_column, source.type, long_text=unlimited_text(source))
        session.execute(ddl.add_column(ref, target))
        metadata.write(session, ref, [*table.columns, target])
    _not_a_key(table, target, "copy_column")
    count = _update_all(session, ref, sql.copy_column_values(ref, source.name, target.name), [])
    log.info("migrate %s: copied column %r to %r on %d rows", ref, source.name, target.name, count)
    return SUCCESS


def drop_table(session: Session, metadata: MetadataStore, op: ops.DropTable) -> Outcome:
    ref = op.ref
    session.execute(ddl.drop_table(ref))
    metadata.forget(session, ref)
    log.info("migrate: dropped table %s", ref)
    return SUCCESS


def _is_history(table: TableSchema) -> bool:
    return table.column(START) is not None


def _as_history(
    session: Session, table: TableSchema, deleted: str | None, dropped: str
) -> tuple[list[ColumnSpec], list[str], str, list[Any]]:
    """Columns, inserted column names, select and parameters that turn `table`'s rows into versions.

    Soft-deleted rows become closed versions at the minimum timestamp; the others active versions that
    start at the table's latest `_fivetran_synced` (SDK migration guide, SOFT_DELETE_TO_HISTORY). Column
    `dropped` is left out.
    """
    if not table.keys:
        raise UserActionRequired(f"table {table.ref} has no primary key, so its rows cannot become versions")
    if deleted is not None:
        _column(table, deleted)
    kept = [spec for spec in table.columns if spec.name != dropped]
    start = START_OF_TIME
    session.refresh(table.ref)  # the reads below do not match a primary key
    if table.column(SYNCED) is not None:
        latest = session.query(sql.max_value(table.ref, SYNCED))
        if latest and latest[0][0] is not None:
            start = iso_ms(int(latest[0][0]))
    names = [spec.name for spec in kept]
    select = sql.select_as_history(table.ref, names, deleted)
    args = [start, END_OF_TIME] if deleted is None else [START_OF_TIME, start, START_OF_TIME, END_OF_TIME]
    return [*kept, *_HISTORY_SPECS], [*names, START, END, ACTIVE], select, args


def copy_table_to_history_mode(
    session: Session,
    metadata: MetadataStore,
    op: ops.CopyTableToHistoryMode,
    creation: Creation = Creation(),
) -> Outcome:
    """A new history-mode table; like `copy_table` it gets the configured settings of its own name."""
    source, target = op.source, op.target
    if source == target:
        raise InvalidRequest(f"copy_table_to_history_mode: {source} would be copied onto itself")
    table = _existing(session, metadata, source)
    if _is_history(table):
        raise UserActionRequired(f"copy_table_to_history_mode: {source} is in history mode already")
    deleted = op.soft_deleted_column or None
    columns, inserted, select, args = _as_history(session, table, deleted, deleted or DELETED)
    _rebuild_from(
        session,
        metadata,
        TableSchema(target, tuple(columns)),
        columns,
        inserted,
        select,
        args,
        creation.tables.for_table(target),
    )
    log.info("migrate: copied %s to history-mode table %s", source, target.table)
    return SUCCESS


def soft_delete_to_history(session: Session, metadata: MetadataStore, op: ops.SoftDeleteToHistory) -> Outcome:
    """`_fivetran_start` joins the primary key, so the table is rebuilt; `_fivetran_deleted` goes."""
    ref = op.ref
    table = _existing(session, metadata, ref)
    if _is_history(table):
        HistoryTable.of(table)  # a re-send after success; anything half-converted is a Task
        return SUCCESS
    columns, inserted, select, args = _as_history(session, table, op.soft_deleted_column, DELETED)
    _rebuild_from(session, metadata, table, columns, inserted, select, args)
    log.info("migrate: %s is in history mode now", ref)
    return SUCCESS


def history_to_soft_delete(session: Session, metadata: MetadataStore, op: ops.HistoryToSoftDelete) -> Outcome:
    """Each record keeps its latest version, flagged deleted when that version is closed; the history
    columns go and the primary key is the record key again (a rebuild).

    `keep_deleted_rows = false` (the SDK migration guide does not describe it for HISTORY_TO_SOFT_DELETE)
    also drops the records whose latest version is closed; absent or true keeps them, flagged.
    """
    ref = op.ref
    table = _existing(session, metadata, ref)
    if not _is_history(table):
        return SUCCESS  # a re-send after success
    history = HistoryTable.of(table)
    deleted = op.soft_deleted_column or DELETED
    validate_column_name(deleted, str(ref))
    if deleted in HISTORY_COLUMNS:
        raise UserActionRequired(
            f"history_to_soft_delete on {ref}: {deleted!r} cannot be the soft-delete column"
        )
    keep = op.keep_deleted_rows
    flag = ColumnSpec(deleted, FivetranType(BOOLEAN))
    final = [
        flag if spec.name == deleted else spec for spec in table.columns if spec.name not in HISTORY_COLUMNS
    ]
    if table.column(deleted) is None:
        final.append(flag)
    kept = [spec.name for spec in final if spec.name != deleted]
    select = sql.select_latest_versions(ref, kept, history.record_keys, deleted, keep)
    _rebuild_from(session, metadata, table, final, [*kept, deleted], select, [])
    log.info("migrate: %s is in soft-delete mode now", ref)
    return SUCCESS


def _no_operation(session: Session, metadata: MetadataStore, op: ops.NoOperation) -> Outcome:
    raise InvalidRequest(op.message)


def _unsupported(session: Session, metadata: MetadataStore, op: ops.UnsupportedSyncMode) -> Outcome:
    return UNSUPPORTED


# (session, metadata, operation), plus the table settings for operations in NEW_TABLES.
Handler = Callable[..., Outcome]

# One function per operation type; `ops.decode` yields exactly these types.
HANDLERS: dict[type[ops.Operation], Handler] = {
    ops.NoOperation: _no_operation,
    ops.AddColumnWithDefault: add_column_with_default,
    ops.AddColumnInHistoryMode: add_column_in_history_mode,
    ops.DropColumnInHistoryMode: drop_column_in_history_mode,
    ops.DropTable: drop_table,
    ops.RenameColumn: rename_column,
    ops.CopyColumn: copy_column,
    ops.UpdateColumnValue: update_column_value,
    ops.RenameTable: rename_table,
    ops.CopyTable: copy_table,
    ops.CopyTableToHistoryMode: copy_table_to_history_mode,
    ops.SoftDeleteToHistory: soft_delete_to_history,
    ops.HistoryToSoftDelete: history_to_soft_delete,
    ops.UnsupportedSyncMode: _unsupported,
}


# Operations that create a table or a column; their handlers take a `Creation` as a fourth argument.
_CREATING: frozenset[type[ops.Operation]] = frozenset(
    {ops.CopyTable, ops.CopyTableToHistoryMode, ops.AddColumnWithDefault, ops.AddColumnInHistoryMode}
)


def migrate(
    session: Session, metadata: MetadataStore, operation: ops.Operation, creation: Creation = Creation()
) -> Outcome:
    """Apply one decoded operation; the caller holds the locks of `operation.tables()`. New tables get the
    configured shards, replicas and partitioning, new JSON columns the configured storage; rebuilt tables
    and copied columns keep what they had."""
    handler = HANDLERS[type(operation)]
    if type(operation) in _CREATING:
        return handler(session, metadata, operation, creation)
    return handler(session, metadata, operation)
