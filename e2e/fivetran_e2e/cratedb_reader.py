"""Reads tables back from CrateDB for the comparison.

- The catalogue (table list, columns, primary keys) comes from SQLAlchemy reflection with the crate dialect
  (`sqlalchemy-cratedb`), the standard way CrateDB users inspect a schema, instead of our own catalogue
  queries. Reflection names no column order, so callers must not rely on one.
- Rows come through the `crate` driver itself, raw (no type converter): timestamps as epoch milliseconds,
  NUMERIC selected as `::TEXT` so it stays exact. They are paged by key (keyset pagination), because an HTTP
  response carries a whole result. Tables are refreshed first: CrateDB reads are not guaranteed to see
  writes before a refresh.

Both use one driver connection: the engine lends it, and raw cursors are opened on the same connection.
URLs may be `http(s)://[user[:password]@]host[:port]` or `crate://...`, read exactly like the destination's
`url` field (`cratedb_destination.config`), so the harness accepts whatever the destination accepts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from crate import client
from cratedb_destination.config import ConnectionSettings, parse_configuration
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.sql.identifiers import TableRef, column
from sqlalchemy.dialects import registry
from sqlalchemy_cratedb import IP, FloatVector, Geopoint, Geoshape, ObjectArray, ObjectType, UnresolvedType


@dataclass(frozen=True)
class CrateColumn:
    name: str
    data_type: str  # as information_schema.columns.data_type reports it, e.g. "timestamp with time zone"
    primary_key: bool = False


def register_crate_dialect() -> None:
    """Make `crate://` resolvable without package metadata.

    SQLAlchemy finds third-party dialects through entry points, i.e. package metadata, which a frozen
    (PyInstaller) program may lack; registering the module path works everywhere and matches the entry
    point.
    """
    registry.register("crate", "sqlalchemy_cratedb", "dialect")


def _settings(url: str) -> ConnectionSettings:
    try:
        return parse_configuration({"url": url})
    except UserActionRequired as error:
        raise ValueError(f"CrateDB URL: {error}") from None


def sqlalchemy_url(url: str) -> sa.URL:
    """The `crate://` URL for the server `url` names; https keeps certificate verification unless the
    URL itself turned it off (sslmode=require and friends)."""
    settings = _settings(url)
    parts = urlsplit(settings.url)
    query = {}
    if settings.uses_tls:
        query["sslmode"] = "verify-full" if settings.verify_certificates else "require"
    return sa.URL.create(
        "crate",
        username=settings.username,
        password=settings.password,
        host=parts.hostname,
        port=parts.port,
        query=query,
    )


def connect(url: str, timeout: float = 60.0) -> Any:
    """A plain driver connection to the server `url` names (credentials optional)."""
    settings = _settings(url)
    return client.connect(
        settings.url,
        username=settings.username,
        password=settings.password,
        verify_ssl_cert=settings.verify_certificates,
        timeout=timeout,
    )


# Reflected SQLAlchemy types back to CrateDB's catalogue names (the dialect's TYPES_MAP, reversed).
# Order matters: subclasses first (BIGINT is an Integer, DOUBLE PRECISION a Float, CHAR a String).
_CATALOGUE_NAMES: tuple[tuple[type[Any], str], ...] = (
    (type(ObjectArray), "object_array"),  # the dialect exports these two as instances
    (type(ObjectType), "object"),
    (Geopoint, "geo_point"),
    (Geoshape, "geo_shape"),
    (IP, "ip"),
    (FloatVector, "float_vector"),
    (sa.Boolean, "boolean"),
    (sa.SmallInteger, "smallint"),
    (sa.BigInteger, "bigint"),
    (sa.Integer, "integer"),
    (sa.Double, "double precision"),
    (sa.Float, "real"),  # REAL, and `float`, CrateDB's other name for it
    (sa.Numeric, "numeric"),
    (sa.CHAR, "character"),
    (sa.String, "text"),
)


def catalogue_type(reflected: Any) -> str:
    """information_schema's data_type for a type the crate dialect reflected, e.g. TIMESTAMP(timezone=True)
    -> "timestamp with time zone"; types the dialect does not know keep CrateDB's own name."""
    if isinstance(reflected, UnresolvedType):
        return str(reflected.type_name).lower()
    if isinstance(reflected, sa.DateTime):
        return "timestamp with time zone" if reflected.timezone else "timestamp without time zone"
    if isinstance(reflected, sa.ARRAY):
        return f"{catalogue_type(reflected.item_type)}_array"
    for kind, name in _CATALOGUE_NAMES:
        if isinstance(reflected, kind):
            return name
    return str(getattr(reflected, "__visit_name__", type(reflected).__name__)).lower()


class CrateReader:
    def __init__(self, url: str, page_size: int = 20_000, timeout: float = 60.0) -> None:
        register_crate_dialect()
        self._engine = sa.create_engine(sqlalchemy_url(url), connect_args={"timeout": timeout})
        self._connection = self._engine.connect()
        try:
            self._driver: Any = self._connection.connection.dbapi_connection
        except BaseException:
            self.close()
            raise
        self.page_size = page_size

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()

    def __enter__(self) -> CrateReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _inspector(self) -> sa.Inspector:
        # A fresh inspector per call: an inspector caches what it reflected, and tables come and go.
        return sa.inspect(self._connection)

    def execute(self, sql: str, args: Sequence[Any] | None = None) -> list[list[Any]]:
        cursor = self._driver.cursor()
        try:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    def tables(self, schema: str) -> list[str]:
        """Names of the schema's tables (views excluded), sorted."""
        return list(self._inspector().get_table_names(schema=schema))

    def columns(self, table: TableRef) -> list[CrateColumn]:
        """The table's top-level columns with their catalogue types and key flags; [] if it does not exist."""
        inspector = self._inspector()
        reflected = inspector.get_columns(table.table, schema=table.schema)
        if not reflected:
            return []
        keys = set(inspector.get_pk_constraint(table.table, schema=table.schema)["constrained_columns"])
        return [
            CrateColumn(entry["name"], catalogue_type(entry["type"]), entry["name"] in keys)
            for entry in reflected
        ]

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
