"""Reads tables back from CrateDB for the comparison, through the `crate` driver over HTTP.

Values come raw (no type converter): timestamps as epoch milliseconds, NUMERIC selected as `::TEXT` so it
stays exact. Rows are paged by key (keyset pagination), because an HTTP response carries a whole result.
Tables are refreshed first: CrateDB reads are not guaranteed to see writes before a refresh.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from crate import client
from cratedb_destination.sql.identifiers import TableRef, column


@dataclass(frozen=True)
class CrateColumn:
    name: str
    data_type: str  # as information_schema.columns.data_type reports it, e.g. "timestamp with time zone"


def connect(url: str, timeout: float = 60.0) -> Any:
    """A driver connection from an URL like http://user:password@host:4200 (credentials optional)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("CrateDB URL must look like http[s]://[user[:password]@]host[:port]")
    port = f":{parts.port}" if parts.port else ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return client.connect(
        f"{parts.scheme}://{host}{port}",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


class CrateReader:
    def __init__(self, url: str, page_size: int = 20_000) -> None:
        self._conn = connect(url)
        self.page_size = page_size

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> CrateReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> list[list[Any]]:
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    def tables(self, schema: str) -> list[str]:
        rows = self.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in rows]

    def columns(self, table: TableRef) -> list[CrateColumn]:
        rows = self.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [table.schema, table.table],
        )
        return [CrateColumn(name, str(data_type).lower()) for name, data_type in rows if "[" not in name]

    def refresh(self, table: TableRef) -> None:
        self.execute(f"REFRESH TABLE {table.sql}")

    def count(self, table: TableRef) -> int:
        return int(self.execute(f"SELECT count(*) FROM {table.sql}")[0][0])

    def drop_schema_tables(self, schema: str) -> None:
        """Removes every table of `schema` (a harness run's private schema)."""
        for name in self.tables(schema):
            self.execute(f"DROP TABLE IF EXISTS {TableRef(schema, name).sql}")

    def rows(
        self,
        table: TableRef,
        columns: Sequence[str],
        key: Sequence[str],
        numeric: frozenset[str] = frozenset(),
    ) -> Iterator[list[list[Any]]]:
        """Pages of `columns` sorted by `key` (which must be unique and among the first columns)."""
        select = ", ".join(f"{column(name)}::TEXT" if name in numeric else column(name) for name in columns)
        order = ", ".join(column(name) for name in key)
        key_positions = [list(columns).index(name) for name in key]
        base = f"SELECT {select} FROM {table.sql}"
        after: list[Any] | None = None
        args: list[Any]
        while True:
            if after is None:
                sql, args = f"{base} ORDER BY {order} LIMIT {self.page_size}", []
            else:
                predicate, args = _after_key(key, after)
                sql = f"{base} WHERE {predicate} ORDER BY {order} LIMIT {self.page_size}"
            page = self.execute(sql, args)
            if not page:
                return
            yield page
            if len(page) < self.page_size:
                return
            after = [page[-1][position] for position in key_positions]


def _after_key(key: Sequence[str], after: Sequence[Any]) -> tuple[str, list[Any]]:
    """`(k1, k2, ...) > (v1, v2, ...)` spelled out with AND/OR, which every CrateDB version accepts."""
    alternatives = []
    args: list[Any] = []
    for length in range(1, len(key) + 1):
        terms = [f"{column(name)} = ?" for name in key[: length - 1]] + [f"{column(key[length - 1])} > ?"]
        alternatives.append("(" + " AND ".join(terms) + ")")
        args.extend(after[:length])
    return " OR ".join(alternatives), args
