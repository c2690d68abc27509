"""DescribeTable, CreateTable and AlterTable, including table rebuilds.

CrateDB cannot change a column's type or a table's primary key in place (CrateDB docs
sql/statements/alter-table). Such changes rebuild
the table: create a scratch table with the new definition, copy every row with casts, verify the row
count, then swap the scratch table in. A rebuild that would lose a row stops with a Task and leaves the
original table untouched.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from cratedb_destination.client import Session
from cratedb_destination.domain import FIVETRAN_ID, SYNCED, TableSchema
from cratedb_destination.errors import CrateDBError, UserActionRequired
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.sql import ddl
from cratedb_destination.sql.identifiers import MAX_RELATION_NAME_BYTES, TableRef, stored_name
from cratedb_destination.table_settings import (
    DEFAULT,
    TableSettings,
    check_kept_partitioning,
    check_partitioning,
)
from cratedb_destination.type_mapping import (
    ColumnSpec,
    column_ddl,
    infer_type,
    information_schema_type,
    keep_json_storage,
    sql_type,
    storage_variants,
    text_backed,
)

log = logging.getLogger(__name__)

_REBUILD_SUFFIX = "__fivetran_rebuild"


def describe(session: Session, metadata: MetadataStore, ref: TableRef) -> TableSchema | None:
    """The table as Fivetran defined it, or None when it does not exist.

    Column order and key flags come from CrateDB's catalogue; the Fivetran type of each column comes from
    the metadata record when it still matches the stored CrateDB type, else it is inferred. A column
    stored under another name (a CrateDB system column name, see `identifiers.stored_name`) is answered
    with Fivetran's name, which the record keeps.
    """
    if not session.table_exists(ref):
        return None
    rows = session.query(ddl.TABLE_COLUMNS, [ref.schema, ref.table])
    keys = {row[0] for row in session.query(ddl.PRIMARY_KEY_COLUMNS, [ref.schema, ref.table])}
    recorded = metadata.read(session, ref) or {}
    fivetran_names = {entry.stored_as: name for name, entry in recorded.items() if entry.stored_as}
    columns = []
    for stored, data_type in rows:
        if "[" in stored:  # sub-column of an OBJECT column; not a Fivetran column
            continue
        name = fivetran_names.get(stored, stored)
        in_key = stored in keys
        record = recorded.get(name)
        if record is None or information_schema_type(record.type) != str(data_type).lower():
            columns.append(ColumnSpec(name, infer_type(str(data_type)), in_key))
        else:
            columns.append(ColumnSpec(name, record.type, in_key, record.long_text))
    return TableSchema(ref, tuple(columns))


def with_stored_storage(session: Session, metadata: MetadataStore, table: TableSchema) -> TableSchema:
    """`table` as a write request defines it, with the storage variant each column has in CrateDB (JSON
    stored as OBJECT): the request carries Fivetran's types only. Free for tables without such types; one
    primary-key read of the metadata record otherwise, a full DescribeTable only without a record."""
    if not any(storage_variants(spec.type.data_type) for spec in table.columns):
        return table
    recorded = metadata.read(session, table.ref)
    if recorded is not None:
        current = {name: ColumnSpec(name, entry.type) for name, entry in recorded.items()}
    else:
        stored = describe(session, metadata, table.ref)
        if stored is None:
            return table
        current = {spec.name: spec for spec in stored.columns}
    return TableSchema(
        table.ref,
        tuple(
            keep_json_storage(spec, current[spec.name]) if spec.name in current else spec
            for spec in table.columns
        ),
    )


def create(
    session: Session, metadata: MetadataStore, table: TableSchema, settings: TableSettings = DEFAULT
) -> None:
    """Create the table (the schema comes into being with it) with the configured shards, replicas and
    partitioning; a Task if it exists already or the partitioning does not fit the table."""
    check_partitioning(settings, table)
    if session.table_exists(table.ref):
        raise UserActionRequired(
            f"table {table.ref} already exists. Drop or rename it in CrateDB, or re-sync the table."
        )
    # IF NOT EXISTS keeps a retried request (after a lost response) from failing.
    session.execute(ddl.create_table(table.ref, table.columns, if_not_exists=True, settings=settings))
    metadata.write(session, table.ref, table.columns)
    log.info(
        "created table %s with %d columns (%s)", table.ref, len(table.columns), describe_settings(settings)
    )


def describe_settings(settings: TableSettings) -> str:
    """For logs: what a table was given beyond CrateDB's defaults."""
    parts = []
    if settings.shards is not None:
        parts.append(f"{settings.shards} shards")
    if settings.replicas is not None:
        parts.append(f"replicas {settings.replicas}")
    if settings.partitioned_by:
        parts.append(f"partitioned by {', '.join(settings.partitioned_by)}")
    return ", ".join(parts) or "CrateDB's default distribution"


def current_settings(session: Session, table: TableSchema) -> TableSettings:
    """The shards, replicas and partition columns `table` has in CrateDB (partition columns by their
    Fivetran names), so that a rebuild gives its scratch table the same."""
    rows = session.query(ddl.TABLE_SETTINGS, [table.ref.schema, table.ref.table])
    if not rows:
        return TableSettings()
    shards, replicas, partitioned = rows[0]
    fivetran_names = {stored_name(spec.name): spec.name for spec in table.columns}
    return TableSettings(
        int(shards) if shards is not None else None,
        str(replicas) if replicas is not None else None,
        tuple(fivetran_names.get(str(name), str(name)) for name in partitioned or ()),
        f"the partitioning table {table.ref} has",
    )


@dataclass(frozen=True)
class AlterPlan:
    """What AlterTable will do, computed without I/O from the current and the desired table."""

    final: tuple[ColumnSpec, ...]
    added: tuple[ColumnSpec, ...]
    dropped: tuple[str, ...]
    rebuild: bool
    reasons: tuple[str, ...]

    @property
    def changes_anything(self) -> bool:
        return bool(self.added or self.dropped or self.rebuild)


def _protected(name: str, desired: TableSchema) -> bool:
    """System columns survive drop_columns, unless the table is redefined without them for good.

    `_fivetran_synced` is always kept; `_fivetran_id` only goes when the desired table has a real
    primary key that does not use it (the table stopped being keyless).
    """
    if name == SYNCED:
        return True
    if name == FIVETRAN_ID:
        return not desired.keys or FIVETRAN_ID in desired.keys
    return False


def keep_storage(wanted: ColumnSpec, current: ColumnSpec) -> ColumnSpec:
    """`wanted` with the unlimited text storage `current` was switched to, while it stays a text column,
    and with `current`'s JSON storage while it stays JSON (`type_mapping.keep_json_storage`): Fivetran
    does not know about either storage, so a redefinition must not take it away."""
    wanted = keep_json_storage(wanted, current)
    if current.long_text and not wanted.long_text and text_backed(wanted.type):
        return replace(wanted, long_text=True)
    return wanted


def plan_alter(current: TableSchema, desired: TableSchema, drop_columns: bool) -> AlterPlan:
    desired_by_name = {spec.name: spec for spec in desired.columns}
    current_by_name = {spec.name: spec for spec in current.columns}
    final: list[ColumnSpec] = []
    dropped: list[str] = []
    reasons: list[str] = []
    for spec in current.columns:
        wanted = desired_by_name.get(spec.name)
        if wanted is not None:
            wanted = keep_storage(wanted, spec)
            final.append(wanted)
            if column_ddl(wanted) != column_ddl(spec):
                reasons.append(f"column {spec.name!r} changes from {spec.type} to {wanted.type}")
        elif drop_columns and not _protected(spec.name, desired):
            dropped.append(spec.name)
        else:
            # Kept although not requested; it leaves the key (and so becomes nullable) if it was in it.
            final.append(replace(spec, primary_key=False))
    added = [spec for spec in desired.columns if spec.name not in current_by_name]
    final.extend(added)
    old_keys = set(current.keys)
    new_keys = {spec.name for spec in final if spec.primary_key}
    if old_keys != new_keys:
        reasons.append(f"primary key changes from {sorted(old_keys)} to {sorted(new_keys)}")
    return AlterPlan(tuple(final), tuple(added), tuple(dropped), bool(reasons), tuple(reasons))


def alter(session: Session, metadata: MetadataStore, desired: TableSchema, drop_columns: bool) -> None:
    """Bring the table to `desired`: add columns, rebuild for type or key changes, drop if asked."""
    current = describe(session, metadata, desired.ref)
    if current is None:
        raise UserActionRequired(f"table {desired.ref} does not exist, so it cannot be altered")
    plan = plan_alter(current, desired, drop_columns)
    if plan.rebuild:
        log.info("rebuilding %s: %s", desired.ref, "; ".join(plan.reasons))
        rebuild(session, metadata, current, plan.final)
        return
    for spec in plan.added:
        session.execute(ddl.add_column(desired.ref, spec))
    for name in plan.dropped:
        session.execute(ddl.drop_column(desired.ref, name))
    metadata.write(session, desired.ref, plan.final)
    if plan.changes_anything:
        log.info("altered %s: %d columns added, %d dropped", desired.ref, len(plan.added), len(plan.dropped))


def scratch_table(ref: TableRef) -> TableRef:
    """Name of the rebuild's scratch table; hashed when the readable name would be too long."""
    name = ref.table + _REBUILD_SUFFIX
    if len(f"{ref.schema}.{name}".encode()) > MAX_RELATION_NAME_BYTES:
        name = "fivetran_rebuild_" + hashlib.sha256(ref.table.encode()).hexdigest()[:24]
    return ref.sibling(name)


def _count(session: Session, table: TableRef) -> int:
    rows = session.query(ddl.count_rows(table))
    return int(rows[0][0])


@dataclass(frozen=True)
class RowSource:
    """A rebuild's own copy (e.g. values computed for new key columns): an INSERT into the scratch table,
    its parameters, and a query counting the rows it must write (it takes the same parameters)."""

    insert: str
    args: Sequence[Any]
    count: str


def rebuild(
    session: Session,
    metadata: MetadataStore,
    current: TableSchema,
    final: Sequence[ColumnSpec],
    source: RowSource | None = None,
) -> None:
    """Recreate `current.ref` with the columns `final`, copying every row (casts where types change).

    Columns of `final` that `current` lacks start as NULL; columns of `current` missing from `final` are
    dropped. With `source`, its INSERT fills the scratch table instead (see `scratch_table`). Raises
    UserActionRequired, with the original table intact, if any row would be lost.
    """
    ref = current.ref
    scratch = scratch_table(ref)
    current_by_name = {spec.name: spec for spec in current.columns}
    copied = [spec for spec in final if spec.name in current_by_name]
    casts = [sql_type(spec.type) != sql_type(current_by_name[spec.name].type) for spec in copied]
    # The scratch table takes the table's shards, replicas and partitioning, which the swap then keeps.
    kept = current_settings(session, current)
    check_kept_partitioning(kept, TableSchema(ref, tuple(final)), "changing")
    from_types = [current_by_name[spec.name].type for spec in copied]
    session.execute(ddl.drop_table(scratch))  # leftover of an interrupted earlier attempt
    session.execute(ddl.create_table(scratch, final, settings=kept))
    try:
        # INSERT ... SELECT skips rows it cannot write and counts only the written ones (docs: "INSERT"
        # reference, `insert_select_fail_fast`). The session setting that turns a skip into an error lives
        # on one HTTP connection and is lost silently on a reconnect or behind a proxy, so the count check
        # below is what guards the rows.
        session.refresh(ref)
        if source is not None or copied:
            try:
                if source is not None:
                    session.execute(source.insert, list(source.args), idempotent=False)
                else:
                    session.execute(ddl.copy_rows(ref, scratch, copied, casts, from_types), idempotent=False)
            except CrateDBError as exc:
                raise UserActionRequired(
                    f"changing table {ref} would lose rows: CrateDB could not copy them ({exc}). "
                    "The table was left unchanged."
                ) from None
        session.refresh(scratch)
        before = (
            _count(session, ref) if source is None else int(session.query(source.count, source.args)[0][0])
        )
        after = _count(session, scratch)
        if before != after:
            raise UserActionRequired(
                f"changing table {ref} would lose rows: {before} rows exist but only {after} could be "
                "converted to the new definition (e.g. NULL in a new primary-key column or values that do "
                "not fit the new type). The table was left unchanged."
            )
    except BaseException:
        try:
            session.execute(ddl.drop_table(scratch))
        except Exception:
            log.warning("could not drop scratch table %s after a failed rebuild", scratch)
        raise
    session.execute(ddl.swap_and_drop_source(scratch, ref))
    metadata.write(session, ref, final)
    log.info("rebuilt %s: %d rows kept", ref, after)
