"""The `crate` driver and SQLAlchemy (`crate://`) against CrateDB: the client stack the destination uses.

Checks against a server what these libraries' sources say they do (crate-python and sqlalchemy-cratedb,
prefixes as in docs/sources.md): per-row bulk results instead of exceptions, exception mapping, value
serialization, version discovery, reflection and PostgreSQL-style upserts. Runs against the emulator by
default and unchanged against CRATEDB_URL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa
from crate.client import connect
from crate.client.connection import Connection
from crate.client.converter import DefaultTypeConverter
from crate.client.exceptions import IntegrityError, ProgrammingError
from crate_http import CrateHttp, drop_schema_contents, ident
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import UnsupportedCompilationError

pytestmark = pytest.mark.cratedb


def sqlalchemy_url(cratedb_url: str) -> sa.URL:
    """`crate://user:pw@host:port/` from an http(s) URL; https becomes sslmode=require (sqlalchemy-cratedb
    dialect.py)."""
    parts = urlsplit(cratedb_url)
    return sa.URL.create(
        "crate",
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
        host=parts.hostname,
        port=parts.port or 4200,
        query={"sslmode": "require"} if parts.scheme == "https" else {},
    )


@pytest.fixture()
def schema(cratedb_url: str, unique_schema: str) -> Iterator[str]:
    yield unique_schema
    with CrateHttp(cratedb_url) as http:
        drop_schema_contents(http, unique_schema)


@pytest.fixture()
def conn(cratedb_url: str) -> Iterator[Connection]:
    connection = connect(cratedb_url)
    yield connection
    connection.close()


@pytest.fixture()
def engine(cratedb_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sqlalchemy_url(cratedb_url))
    yield engine
    engine.dispose()


def create_kv(conn: Connection, table: str) -> None:
    conn.cursor().execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT) CLUSTERED INTO 1 SHARDS")


# --------------------------------------------------------------------------------------------------
# crate driver
# --------------------------------------------------------------------------------------------------


def test_connect_reports_lowest_server_version(conn: Connection, cratedb_url: str) -> None:
    """connect() reads GET / and exposes the version as lowest_server_version (crate-python http.py,
    `server_infos`; crate-python connection.py)."""
    with CrateHttp(cratedb_url) as http:
        root_version = http.root().body["version"]["number"]
    assert conn.lowest_server_version.version[:3] == tuple(int(p) for p in root_version.split(".")[:3])
    assert conn.lowest_server_version.version >= (6, 2, 0)


def test_execute_with_args_and_fetchall(conn: Connection, schema: str) -> None:
    """cursor.execute with `?` args; fetchall and description of a PK lookup (crate-python cursor.py)."""
    table = ident(schema, "t")
    create_kv(conn, table)
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} (id, v) VALUES (?, ?)", (1, "one"))
    assert cursor.rowcount == 1
    cursor.execute(f"SELECT id, v FROM {table} WHERE id = ?", (1,))
    assert cursor.fetchall() == [[1, "one"]]
    assert [column[0] for column in cursor.description] == ["id", "v"]


def test_execute_with_named_pyformat_args(conn: Connection, schema: str) -> None:
    """`%(name)s` parameters (crate >= 2.2.0) are rewritten to `$n` on the client (crate-python CHANGES.rst,
    2.2.0)."""
    table = ident(schema, "t")
    create_kv(conn, table)
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} (id, v) VALUES (%(id)s, %(v)s)", {"id": 2, "v": "two"})
    cursor.execute(f"SELECT v FROM {table} WHERE id = %(id)s", {"id": 2})
    assert cursor.fetchall() == [["two"]]


def test_executemany_returns_per_row_results_without_raising(conn: Connection, schema: str) -> None:
    """executemany returns the bulk results; a duplicate is {-2, error{4091}} and no exception;
    cursor.rowcount adds up only the successful rows (crate-python cursor.py, `executemany`; CrateDB docs
    interfaces/http, "Bulk errors")."""
    table = ident(schema, "t")
    create_kv(conn, table)
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} (id, v) VALUES (1, 'old')")
    results = cursor.executemany(f"INSERT INTO {table} (id, v) VALUES (?, ?)", [(2, "a"), (1, "b"), (3, "c")])
    assert [r["rowcount"] for r in results] == [1, -2, 1]
    assert results[1]["error"]["code"] == 4091
    assert "DuplicateKeyException" in results[1]["error"]["message"]
    assert cursor.rowcount == 2


def test_single_row_duplicate_raises_integrity_error(conn: Connection, schema: str) -> None:
    """A single-row duplicate key becomes IntegrityError (message contains DuplicateKeyException)
    (crate-python http.py, `_raise_for_status`)."""
    table = ident(schema, "t")
    create_kv(conn, table)
    cursor = conn.cursor()
    cursor.execute(f"INSERT INTO {table} (id, v) VALUES (1, 'a')")
    with pytest.raises(IntegrityError, match="DuplicateKeyException"):
        cursor.execute(f"INSERT INTO {table} (id, v) VALUES (1, 'b')")


def test_unknown_table_raises_programming_error(conn: Connection, schema: str) -> None:
    """An unknown relation becomes ProgrammingError whose message starts with RelationUnknown (crate-python
    http.py, `_raise_for_status`; our observation)."""
    create_kv(conn, ident(schema, "present"))
    with pytest.raises(ProgrammingError) as raised:
        conn.cursor().execute(f"SELECT * FROM {ident(schema, 'absent')}")
    assert not isinstance(raised.value, IntegrityError)
    assert str(raised.value.message).startswith("RelationUnknown[")


def test_decimal_is_sent_as_string_and_stays_exact(conn: Connection, schema: str) -> None:
    """The driver sends Decimal as a string; NUMERIC keeps it; `::TEXT` reads it exactly (crate-python
    http.py, `json_encoder`)."""
    table = ident(schema, "t")
    value = Decimal("12345678901234567890.123456789")
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, n NUMERIC(38, 9))")
    cursor.execute(f"INSERT INTO {table} (id, n) VALUES (?, ?)", (1, value))
    cursor.execute(f"SELECT n::TEXT, n FROM {table} WHERE id = 1")
    text, number = cursor.fetchone()
    assert Decimal(text) == value
    assert isinstance(number, float) and Decimal(number) != value  # a JSON number loses the digits


def test_nan_and_infinity_are_sent_as_null(conn: Connection, schema: str) -> None:
    """The driver serializes float('nan') and inf as JSON null, so they store as NULL (crate-python http.py;
    our observation of its orjson encoder)."""
    table = ident(schema, "t")
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, d DOUBLE PRECISION)")
    cursor.executemany(f"INSERT INTO {table} (id, d) VALUES (?, ?)", [(1, math.nan), (2, math.inf)])
    cursor.execute(f"SELECT d FROM {table} WHERE id = 1")
    assert cursor.fetchall() == [[None]]
    cursor.execute(f"SELECT d FROM {table} WHERE id = 2")
    assert cursor.fetchall() == [[None]]


def test_datetimes_are_sent_as_epoch_ms(conn: Connection, schema: str) -> None:
    """Naive datetimes are sent as UTC epoch ms (µs truncated); aware ones are converted (crate-python
    http.py, `json_encoder`)."""
    table = ident(schema, "t")
    cursor = conn.cursor()
    cursor.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE)")
    naive = datetime(2024, 1, 2, 3, 4, 5, 678901)
    aware = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    cursor.executemany(f"INSERT INTO {table} (id, ts) VALUES (?, ?)", [(1, naive), (2, aware)])
    cursor.execute(f"SELECT ts FROM {table} WHERE id = 1")
    assert cursor.fetchall() == [[1704164645678]]
    cursor.execute(f"SELECT ts FROM {table} WHERE id = 2")
    assert cursor.fetchall() == [[1704164645000]]


def test_converter_turns_timestamps_into_datetimes(conn: Connection, schema: str) -> None:
    """The driver asks for ?types=true; with DefaultTypeConverter timestamps become aware datetimes
    (crate-python http.py; crate-python converter.py)."""
    table = ident(schema, "t")
    conn.cursor().execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, ts TIMESTAMP WITH TIME ZONE)")
    conn.cursor().execute(f"INSERT INTO {table} (id, ts) VALUES (1, '2024-01-02T03:04:05.678Z')")
    cursor = conn.cursor(converter=DefaultTypeConverter())
    cursor.execute(f"SELECT ts FROM {table} WHERE id = 1")
    assert cursor.fetchone() == [datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)]


def test_bytes_cannot_be_sent(conn: Connection) -> None:
    """The driver cannot serialize bytes (no binary type): TypeError before any request (crate-python http.py;
    our observation)."""
    with pytest.raises(TypeError):
        conn.cursor().execute("SELECT ? AS b", (b"\x00\x01",))


# --------------------------------------------------------------------------------------------------
# SQLAlchemy (sqlalchemy-cratedb)
# --------------------------------------------------------------------------------------------------


def test_sqlalchemy_connects_with_crate_url(engine: sa.Engine) -> None:
    """A crate:// URL connects; the dialect learns the server version (sqlalchemy-cratedb dialect.py)."""
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 1 AS one")).scalar_one() == 1
        version = connection.dialect.server_version_info
        assert version is not None and version >= (6, 2, 0)


def test_sqlalchemy_reflects_a_table_created_with_raw_ddl(engine: sa.Engine, schema: str) -> None:
    """Reflection reads information_schema: table names, columns and the (composite) primary key
    (sqlalchemy-cratedb dialect.py)."""
    with engine.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {ident(schema, 'orders')} (id TEXT, region TEXT, qty INTEGER, "
            f"amount NUMERIC(10, 2), placed TIMESTAMP WITH TIME ZONE, PRIMARY KEY (id, region))"
        )
    inspector = sa.inspect(engine)
    assert "orders" in inspector.get_table_names(schema=schema)
    columns = {c["name"] for c in inspector.get_columns("orders", schema=schema)}  # the query has no ORDER BY
    assert columns == {"id", "region", "qty", "amount", "placed"}
    assert set(inspector.get_pk_constraint("orders", schema=schema)["constrained_columns"]) == {
        "id",
        "region",
    }
    table = sa.Table("orders", sa.MetaData(), schema=schema, autoload_with=engine)
    assert {c.name for c in table.primary_key.columns} == {"id", "region"}
    assert isinstance(table.c.qty.type, sa.Integer)


def test_sqlalchemy_upsert_executemany_and_query_back(engine: sa.Engine, schema: str) -> None:
    """pg insert().on_conflict_do_update() with many rows goes out as one bulk request and upserts (our
    observation of sqlalchemy-cratedb 0.44.0)."""
    with engine.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {ident(schema, 'items')} (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)"
        )
    items = sa.Table("items", sa.MetaData(), schema=schema, autoload_with=engine)
    statement = pg_insert(items)
    upsert = statement.on_conflict_do_update(
        index_elements=["id"], set_={"name": statement.excluded.name, "qty": statement.excluded.qty}
    )
    with engine.connect() as connection:
        connection.execute(upsert, [{"id": 1, "name": "a", "qty": 1}, {"id": 2, "name": "b", "qty": 2}])
        connection.execute(upsert, [{"id": 2, "name": "B", "qty": 20}, {"id": 3, "name": "c", "qty": 3}])
        connection.exec_driver_sql(f"REFRESH TABLE {ident(schema, 'items')}")
        rows = connection.execute(sa.select(items.c.id, items.c.name, items.c.qty).order_by(items.c.id)).all()
    assert [tuple(row) for row in rows] == [(1, "a", 1), (2, "B", 20), (3, "c", 3)]


def test_sqlalchemy_plain_insert_many_swallows_duplicates(engine: sa.Engine, schema: str) -> None:
    """Plain insert() with many rows becomes one multi-VALUES statement: a duplicate row disappears without an
    exception (sqlalchemy-cratedb dialect.py, `use_insertmanyvalues`; CrateDB source
    InsertFromValues.java)."""
    with engine.connect() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE {ident(schema, 'items')} (id INTEGER PRIMARY KEY, name TEXT)"
        )
    items = sa.Table("items", sa.MetaData(), schema=schema, autoload_with=engine)
    with engine.connect() as connection:
        connection.execute(items.insert(), [{"id": 1, "name": "old"}])
        connection.execute(items.insert(), [{"id": 1, "name": "dup"}, {"id": 2, "name": "new"}])
        connection.exec_driver_sql(f"REFRESH TABLE {ident(schema, 'items')}")
        rows = connection.execute(sa.select(items.c.id, items.c.name).order_by(items.c.id)).all()
    assert [tuple(row) for row in rows] == [(1, "old"), (2, "new")]


def test_sqlalchemy_on_conflict_do_nothing_does_not_compile(engine: sa.Engine) -> None:
    """sqlalchemy-cratedb 0.44 cannot render on_conflict_do_nothing() (our observation; sqlalchemy-cratedb
    compiler.py has no visitor for it)."""
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    statement: Any = pg_insert(table).values(id=1).on_conflict_do_nothing()
    with pytest.raises(UnsupportedCompilationError):
        statement.compile(dialect=engine.dialect)
