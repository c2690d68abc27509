"""The DuckDB tables behind the catalog: every physical change together with the catalog entry it implies.

`PhysicalStore` owns the writer cursor. Each change runs under the engine's write lock, updates the catalog
and the refresh tracker, and persists the catalog next to the data when the emulator has a data file.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import duckdb
import orjson

from . import duck
from .catalog import Catalog, Column, Table, phys, physical_name
from .lexer import quote_ident
from .visibility import RefreshTracker

_META_SCHEMA = "__emulator"


class PhysicalStore:
    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        database: str,
        catalog: Catalog,
        tracker: RefreshTracker,
        lock: threading.RLock,
        data: str | None,
    ) -> None:
        self.database = database
        self.catalog = catalog
        self.tracker = tracker
        self.lock = lock
        self.data = data
        self.writer = conn.cursor()

    def close(self) -> None:
        with self.lock:
            self.persist_catalog()
            self.writer.close()

    def physical(self, table: Table) -> str:
        return physical_name(self.database, table.schema, table.name)

    # ---- tables -----------------------------------------------------------------------------------------
    def create_table(self, table: Table) -> None:
        with self.lock:
            self.writer.execute(
                f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.database)}.{phys(table.schema)}"
            )
            columns = ", ".join(f"{phys(c.name)} {c.ctype.duck()}" for c in table.columns)
            try:
                self.writer.execute(f"CREATE TABLE {self.physical(table)} ({columns})")
            except duckdb.Error as exc:
                raise duck.crate_error(exc) from None
            self.catalog.put(table)
            self.tracker.created((table.schema, table.name))
            self.persist_catalog()

    def drop_table(self, table: Table) -> None:
        with self.lock:
            self.writer.execute(f"DROP TABLE IF EXISTS {self.physical(table)}")
            self.catalog.remove(table.schema, table.name)
            self.tracker.dropped((table.schema, table.name))
            self.persist_catalog()

    def replace_table(self, table: Table) -> None:
        """A catalog-only change (settings, defaults, constraints): the physical table stays as it is."""
        with self.lock:
            self.catalog.put(table)
            self.persist_catalog()

    def count_rows(self, table: Table) -> int:
        return int(duck.fetch_row(self.writer, f"SELECT count(*) FROM {self.physical(table)}")[0])

    def rename_table(self, table: Table, schema: str, name: str) -> None:
        with self.lock:
            self.writer.execute(f"ALTER TABLE {self.physical(table)} RENAME TO {phys(name)}")
            self.catalog.remove(table.schema, table.name)
            self.catalog.put(replace(table, name=name))
            self.tracker.renamed((table.schema, table.name), (schema, name))
            self.persist_catalog()

    def swap_tables(self, source: Table, target: Table, drop_source: bool) -> None:
        with self.lock:
            temporary = replace(source, schema=source.schema, name=f"__emulator_swap_{id(source)}")
            self._move(source, temporary.schema, temporary.name)
            if drop_source:
                self.writer.execute(f"DROP TABLE {self.physical(target)}")
            else:
                self._move(target, source.schema, source.name)
            self._move(temporary, target.schema, target.name)
            self.catalog.remove(source.schema, source.name)
            self.catalog.remove(target.schema, target.name)
            self.catalog.put(replace(source, schema=target.schema, name=target.name))
            if drop_source:
                self.tracker.dropped((target.schema, target.name))
                self.tracker.renamed((source.schema, source.name), (target.schema, target.name))
            else:
                self.catalog.put(replace(target, schema=source.schema, name=source.name))
                self.tracker.swapped((source.schema, source.name), (target.schema, target.name))
            self.persist_catalog()

    def _move(self, table: Table, schema: str, name: str) -> None:
        target = physical_name(self.database, schema, name)
        if schema == table.schema:
            self.writer.execute(f"ALTER TABLE {self.physical(table)} RENAME TO {phys(name)}")
            return
        self.writer.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.database)}.{phys(schema)}")
        self.writer.execute(f"CREATE TABLE {target} AS SELECT * FROM {self.physical(table)}")
        self.writer.execute(f"DROP TABLE {self.physical(table)}")

    # ---- columns ----------------------------------------------------------------------------------------
    def add_columns(self, table: Table, columns: list[Column], primary_key: tuple[str, ...]) -> None:
        with self.lock:
            current = self.catalog.require(table.schema, table.name)
            for column in columns:
                self.writer.execute(
                    f"ALTER TABLE {self.physical(current)} "
                    f"ADD COLUMN {phys(column.name)} {column.ctype.duck()}"
                )
            updated = replace(current, columns=current.columns + tuple(columns), primary_key=primary_key)
            self.catalog.put(updated)
            self.persist_catalog()

    def drop_columns(self, table: Table, names: list[str]) -> None:
        with self.lock:
            for name in names:
                self.writer.execute(f"ALTER TABLE {self.physical(table)} DROP COLUMN {phys(name)}")
                table.objects.pop(name, None)
            columns = tuple(c for c in table.columns if c.name not in names)
            self.catalog.put(replace(table, columns=columns))
            self.persist_catalog()

    def rename_columns(self, table: Table, renames: list[tuple[str, str]]) -> None:
        with self.lock:
            mapping = dict(renames)
            for old, new in renames:
                self.writer.execute(
                    f"ALTER TABLE {self.physical(table)} RENAME COLUMN {phys(old)} TO {phys(new)}"
                )
            columns = tuple(replace(c, name=mapping.get(c.name, c.name)) for c in table.columns)
            objects = {}
            for name, state in table.objects.items():
                new_name = mapping.get(name, name)
                if new_name != name:
                    state.known = {new_name + path[len(name) :]: v for path, v in state.known.items()}
                objects[new_name] = state
            updated = replace(
                table,
                columns=columns,
                primary_key=tuple(mapping.get(c, c) for c in table.primary_key),
                clustered_by=mapping.get(table.clustered_by, table.clustered_by)
                if table.clustered_by
                else None,
                partitioned_by=tuple(mapping.get(c, c) for c in table.partitioned_by),
                objects=objects,
            )
            self.catalog.put(updated)
            self.persist_catalog()

    # ---- persistence ------------------------------------------------------------------------------------
    def persist_catalog(self) -> None:
        if not self.data:
            return
        with self.lock:
            document = orjson.dumps(self.catalog.to_json()).decode()
            self.writer.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(_META_SCHEMA)}")
            self.writer.execute(
                f"CREATE TABLE IF NOT EXISTS {quote_ident(_META_SCHEMA)}.catalog (doc VARCHAR)"
            )
            self.writer.execute(f"DELETE FROM {quote_ident(_META_SCHEMA)}.catalog")
            self.writer.execute(f"INSERT INTO {quote_ident(_META_SCHEMA)}.catalog VALUES (?)", [document])

    def load_catalog(self) -> None:
        if not self.data:
            return
        try:
            row = self.writer.execute(f"SELECT doc FROM {quote_ident(_META_SCHEMA)}.catalog").fetchone()
        except duckdb.Error:
            return
        if row:
            self.catalog.load_json(orjson.loads(row[0]))
            for key in self.catalog.tables:
                self.tracker.created(key)
