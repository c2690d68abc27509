"""The Fivetran type of every column, kept next to the data in `<metadata schema>.column_types`.

CrateDB stores several Fivetran types alike (e.g. STRING, JSON, XML and BINARY are all TEXT) and does not
keep DECIMAL scale or string byte lengths where information_schema shows them, so DescribeTable could not
answer exactly what CreateTable received without this record.

The record also keeps a storage choice Fivetran does not know about: text columns the destination switched
to unlimited storage (`"long_text": true`, see `services/long_text.py`), so that rebuilds keep it, and a
JSON column's storage variant (`"storage": "object"` for OBJECT(IGNORED), see `type_mapping.JSON_OBJECT`),
so that a column keeps the storage it was created with when the `json_storage` setting changes.

The default metadata schema is our own (`config.DEFAULT_METADATA_SCHEMA`); records an earlier version kept
under `fivetran_metadata`, the schema of Fivetran's Platform Connector, are moved on first use.

One row per table, keyed by (schema_name, table_name), holds the whole column list as JSON. Reading and
writing by the full primary key makes every read see the latest write without a REFRESH (CrateDB docs
sql/statements/refresh),
and replacing the whole row keeps the record of one table consistent (CrateDB writes a row atomically).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from cratedb_destination.client import Session
from cratedb_destination.sql import ddl, dml
from cratedb_destination.sql.identifiers import TableRef, stored_name
from cratedb_destination.table_settings import DEFAULT, TableSettings
from cratedb_destination.type_mapping import (
    JSON,
    STRING,
    UTC_DATETIME,
    ColumnSpec,
    FivetranType,
    type_from_name,
    type_name,
)

log = logging.getLogger(__name__)

METADATA_TABLE = "column_types"
_FORMAT_VERSION = 1


_COLUMNS = [
    ColumnSpec("schema_name", FivetranType(STRING), primary_key=True),
    ColumnSpec("table_name", FivetranType(STRING), primary_key=True),
    ColumnSpec("columns", FivetranType(JSON)),  # unindexed: wide tables make long documents
    ColumnSpec("updated_at", FivetranType(UTC_DATETIME)),
]
_KEY = [spec.name for spec in _COLUMNS if spec.primary_key]
_VALUES = [spec.name for spec in _COLUMNS]


def encode(specs: Sequence[ColumnSpec]) -> str:
    columns = []
    for spec in specs:
        entry: dict[str, object] = {"name": spec.name, "type": type_name(spec.type.data_type)}
        if spec.type.precision is not None:
            entry["precision"] = spec.type.precision
            entry["scale"] = spec.type.scale or 0
        if spec.type.string_byte_length is not None:
            entry["string_byte_length"] = spec.type.string_byte_length
        if spec.long_text:
            entry["long_text"] = True
        if spec.type.storage is not None:
            entry["storage"] = spec.type.storage
        if stored_name(spec.name) != spec.name:
            entry["stored_as"] = stored_name(spec.name)
        columns.append(entry)
    return json.dumps({"version": _FORMAT_VERSION, "columns": columns}, separators=(",", ":"))


@dataclass(frozen=True)
class RecordedColumn:
    """What the record keeps of one column: the Fivetran type and the destination's storage choice."""

    type: FivetranType
    long_text: bool = False
    stored_as: str | None = None  # the CrateDB column's name when it differs (a system column name)


def decode_columns(text: str) -> dict[str, RecordedColumn]:
    document = json.loads(text)
    columns: dict[str, RecordedColumn] = {}
    for entry in document.get("columns", []):
        ftype = FivetranType(
            type_from_name(entry["type"]),
            precision=entry.get("precision"),
            scale=entry.get("scale"),
            string_byte_length=entry.get("string_byte_length"),
            storage=entry.get("storage"),
        )
        columns[entry["name"]] = RecordedColumn(
            ftype, bool(entry.get("long_text", False)), entry.get("stored_as")
        )
    return columns


def decode(text: str) -> dict[str, FivetranType]:
    return {name: column.type for name, column in decode_columns(text).items()}


class MetadataStore:
    """Reads and writes the column-type record of tables in one metadata schema."""

    def __init__(
        self, schema: str, legacy_schema: str | None = None, settings: TableSettings = DEFAULT
    ) -> None:
        self.table = TableRef(schema, METADATA_TABLE)
        self._settings = settings.without_partitioning()  # shards and replicas of the metadata table
        self._legacy = TableRef(legacy_schema, METADATA_TABLE) if legacy_schema else None
        self._exists = False
        self._lock = threading.Lock()

    def _adopt_legacy(self, session: Session) -> None:
        """Move the records of an old metadata table into ours, once: copy every row that ours lacks,
        check that each arrived, then drop the old table. Only a table of exactly our columns is taken."""
        legacy, self._legacy = self._legacy, None
        if legacy is None or not session.table_exists(legacy):
            return
        columns = {row[0] for row in session.query(ddl.TABLE_COLUMNS, [legacy.schema, legacy.table])}
        if columns != set(_VALUES):
            return  # someone else's table of that name
        session.execute(ddl.create_table(self.table, _COLUMNS, if_not_exists=True, settings=self._settings))
        session.refresh(legacy)
        session.execute(ddl.copy_missing_rows(legacy, self.table, _VALUES, _KEY))
        session.refresh(self.table)
        moved = {tuple(row) for row in session.query(ddl.select_columns(self.table, _KEY))}
        missing = len({tuple(row) for row in session.query(ddl.select_columns(legacy, _KEY))} - moved)
        if missing:
            log.warning("kept %s: %d of its records could not be moved to %s", legacy, missing, self.table)
            return
        session.execute(ddl.drop_table(legacy))
        log.info("moved the column-type records of %s to %s", legacy, self.table)

    def ensure_writable(self, session: Session) -> None:
        """Create the metadata table unless it exists (also a privilege check for the setup test)."""
        with self._lock:
            self._adopt_legacy(session)
            if self._exists:
                return
            session.execute(
                ddl.create_table(self.table, _COLUMNS, if_not_exists=True, settings=self._settings)
            )
            self._exists = True

    def read(self, session: Session, table: TableRef) -> dict[str, RecordedColumn] | None:
        """Recorded columns by name, or None when nothing is recorded for `table`."""
        if self._legacy is not None:
            with self._lock:
                self._adopt_legacy(session)
        if not self._exists and not session.table_exists(self.table):
            return None
        self._exists = True
        rows = session.query(dml.select_by_key(self.table, ["columns"], _KEY), [table.schema, table.table])
        if not rows or rows[0][0] is None:
            return None
        return decode_columns(rows[0][0])

    def write(self, session: Session, table: TableRef, specs: Sequence[ColumnSpec]) -> None:
        """Record `specs` as the complete column list of `table` (replacing an earlier record)."""
        self.ensure_writable(session)
        now = dt.datetime.now(dt.timezone.utc).isoformat()
        session.execute(
            dml.upsert(self.table, _VALUES, _KEY), [table.schema, table.table, encode(specs), now]
        )

    def forget(self, session: Session, table: TableRef) -> None:
        """Remove the record of a dropped table."""
        if not self._exists and not session.table_exists(self.table):
            return
        session.execute(dml.delete_by_key(self.table, _KEY), [table.schema, table.table])
