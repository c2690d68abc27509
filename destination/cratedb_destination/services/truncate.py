"""Truncate: remove (hard) or flag as deleted (soft) the rows synced before a cutoff, never the whole table.

Rows count as "before" when `synced_column < utc_delete_before`, compared in milliseconds, the precision
both Fivetran and CrateDB timestamps have. The WHERE clause is not a primary-key match, so the table is
refreshed first to make every earlier write visible (CrateDB docs general/dql/refresh).
"""

from __future__ import annotations

import datetime as dt
import logging

from cratedb_destination.client import Session
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.sql import ddl, dml
from cratedb_destination.sql.identifiers import TableRef, stored_name, validate_column_name
from cratedb_destination.type_mapping import format_timestamp

log = logging.getLogger(__name__)


def cutoff_text(seconds: int, nanos: int) -> str:
    """A protobuf Timestamp as the ISO instant sent to CrateDB, truncated to milliseconds."""
    instant = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(
        seconds=seconds, microseconds=(nanos // 1_000_000) * 1000
    )
    return format_timestamp(instant)


def truncate(
    session: Session, table: TableRef, synced_column: str, cutoff: str, deleted_column: str | None
) -> str | None:
    """Apply a Truncate; returns a warning text when nothing could be done safely, else None.

    A missing table is a success (nothing to truncate). A soft truncate on a table without the deleted
    column does nothing and warns: a hard delete instead would destroy what a soft delete keeps, above
    all in history-mode tables, which have no `_fivetran_deleted` column by design.
    """
    validate_column_name(synced_column, str(table))
    if deleted_column is not None:
        validate_column_name(deleted_column, str(table))
    if not session.table_exists(table):
        log.info("truncate of %s skipped: the table does not exist", table)
        return None
    columns = {row[0] for row in session.query(ddl.TABLE_COLUMNS, [table.schema, table.table])}
    if stored_name(synced_column) not in columns:
        raise UserActionRequired(
            f"table {table} has no column {synced_column!r}, so rows synced before the cutoff cannot be "
            "told apart from newer rows"
        )
    if deleted_column is not None and stored_name(deleted_column) not in columns:
        message = (
            f"soft truncate of {table} skipped: the table has no column {deleted_column!r} to flag rows as "
            "deleted; no rows were changed"
        )
        log.warning(message)
        return message
    session.refresh(table)
    if deleted_column is None:
        count = session.execute(dml.delete_synced_before(table, synced_column), [cutoff])
        log.info("truncate of %s deleted %d rows synced before %s", table, count, cutoff)
    else:
        count = session.execute(
            dml.mark_deleted_synced_before(table, deleted_column, synced_column), [cutoff]
        )
        log.info("soft truncate of %s flagged %d rows synced before %s", table, count, cutoff)
    return None
