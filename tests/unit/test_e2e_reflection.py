"""The comparison's catalogue reads through SQLAlchemy reflection (crate dialect): the same types, tables and
keys information_schema holds, a wrong primary key reported, and no reliance on entry points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from cratedb_destination.sql.identifiers import TableRef
from fivetran_e2e.cratedb_reader import CrateReader, sqlalchemy_url
from fivetran_e2e.dest_tables import target_table
from fivetran_e2e.table_compare import compare_table
from fivetran_e2e.warehouse import Warehouse
from sqlalchemy.dialects import registry
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.util import compat

# Every column type the destination creates, plus types a user may add to a destination table.
COLUMNS = {
    "id": "BIGINT",
    "region": "TEXT",
    "flag": "BOOLEAN",
    "small": "SMALLINT",
    "int": "INTEGER",
    "amount": "NUMERIC(10, 2)",
    "ratio": "REAL",
    "dbl": "DOUBLE PRECISION",
    "utc": "TIMESTAMP WITH TIME ZONE",
    "naive": "TIMESTAMP WITHOUT TIME ZONE",
    "long_text": "TEXT INDEX OFF STORAGE WITH (columnstore = false)",
    "short": "VARCHAR(10)",
    "obj": "OBJECT AS (x INTEGER)",
    "tags": "ARRAY(TEXT)",
    "point": "GEO_POINT",
    "address": "IP",
}


@pytest.mark.cratedb
def test_reflected_catalogue_matches_information_schema(cratedb_url: str, unique_schema: str) -> None:
    ref = TableRef(unique_schema, "wide")
    definition = ", ".join(f'"{name}" {ddl}' for name, ddl in COLUMNS.items())
    with CrateReader(cratedb_url) as reader:
        reader.execute(f'CREATE TABLE {ref.sql} ({definition}, PRIMARY KEY ("region", "id"))')
        reader.execute(f'CREATE TABLE {TableRef(unique_schema, "a_first").sql} ("x" INTEGER)')
        try:
            catalogue = reader.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ?",
                [ref.schema, ref.table],
            )
            expected = {name: str(data_type).lower() for name, data_type in catalogue if "[" not in name}
            reflected = reader.columns(ref)
            assert {column.name: column.data_type for column in reflected} == expected
            assert {column.name for column in reflected if column.primary_key} == {"id", "region"}
            assert reader.tables(unique_schema) == ["a_first", "wide"]
            assert reader.columns(TableRef(unique_schema, "absent")) == []
        finally:
            reader.drop_schema_tables(unique_schema)
        assert reader.tables(unique_schema) == []


@pytest.fixture()
def without_entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SQLAlchemy as a PyInstaller binary sees it: no package metadata, so no dialect entry points."""
    monkeypatch.setattr(compat, "importlib_metadata_get", lambda group: ())
    monkeypatch.delitem(registry.impls, "crate", raising=False)
    with pytest.raises(NoSuchModuleError):
        registry.load("crate")  # the block works: `crate` cannot be found by name
    yield


@pytest.mark.cratedb
@pytest.mark.usefixtures("without_entry_points")
def test_reader_registers_the_dialect_itself(cratedb_url: str, unique_schema: str) -> None:
    with CrateReader(cratedb_url) as reader:
        assert reader.tables(unique_schema) == []
        assert reader.execute("SELECT 1") == [[1]]


def test_sqlalchemy_url_keeps_tls_verification_and_hides_the_password() -> None:
    verified = sqlalchemy_url("https://user:s3cret@db.example.com")
    assert (verified.host, verified.port, dict(verified.query)) == (
        "db.example.com",
        4200,
        {"sslmode": "verify-full"},
    )
    assert (verified.username, verified.password) == ("user", "s3cret")
    assert "s3cret" not in str(verified) and "s3cret" not in repr(verified)
    relaxed = sqlalchemy_url("crate://u:pw@db.example.com:4300/?sslmode=require&schema=doc")
    assert (relaxed.port, dict(relaxed.query)) == (4300, {"sslmode": "require"})
    assert dict(sqlalchemy_url("http://localhost:4200").query) == {}
    with pytest.raises(ValueError, match="CrateDB URL") as raised:
        sqlalchemy_url("crate://u:s3cret@h/dbname")
    assert "s3cret" not in str(raised.value)


@pytest.mark.cratedb
def test_a_wrong_primary_key_is_a_problem(tmp_path: Path, cratedb_url: str, unique_schema: str) -> None:
    path = tmp_path / "warehouse.db"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA tester")
        conn.execute(
            "CREATE TABLE tester.items (id INTEGER PRIMARY KEY, name VARCHAR,"
            " _fivetran_deleted BOOLEAN, _fivetran_synced TIMESTAMP WITH TIME ZONE)"
        )
    ref = TableRef(unique_schema, "items")
    with Warehouse(path) as warehouse, CrateReader(cratedb_url) as reader:
        # Keyed by the wrong column: every row could still be found by id, so only the key check notices.
        reader.execute(
            f'CREATE TABLE {ref.sql} ("id" INTEGER, "name" TEXT PRIMARY KEY, "_fivetran_deleted" BOOLEAN,'
            ' "_fivetran_synced" TIMESTAMP WITH TIME ZONE)'
        )
        try:
            source = warehouse.tables()[0]
            result = compare_table(
                warehouse,
                reader,
                source,
                target_table(unique_schema, source, None),
                (0, 1),
                20,
                lambda _: None,
            )
            assert not result.ok
            assert any("primary key ['name'], expected ['id']" in problem for problem in result.problems)
        finally:
            reader.drop_schema_tables(unique_schema)
