"""Emulator fidelity for the table settings the destination writes: CLUSTERED INTO, PARTITIONED BY,
number_of_replicas, what information_schema.tables reports of them, and what CrateDB refuses.

Plain HTTP to `/_sql`; runs unchanged against a real CrateDB when CRATEDB_URL is set. Each test names the
public CrateDB source that fixes the expected answer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crate_http import CrateHttp, drop_schema_contents, ident

pytestmark = pytest.mark.cratedb


@pytest.fixture()
def schema(db: CrateHttp, unique_schema: str) -> Iterator[str]:
    yield unique_schema
    drop_schema_contents(db, unique_schema)


def _tables_row(db: CrateHttp, schema: str, name: str) -> list[object]:
    # `partitioned_by` unquoted, as the destination and CrateDB users write it.
    return db.run(
        "SELECT number_of_shards, number_of_replicas, partitioned_by FROM information_schema.tables "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).rows[0]


def test_information_schema_reports_shards_replicas_and_partition_columns(db: CrateHttp, schema: str) -> None:
    """number_of_shards INTEGER, number_of_replicas TEXT (a count or a range as given), partitioned_by TEXT[]
    or NULL (CrateDB source InformationTablesTableInfo.java; NumberOfReplicas.java `getVirtualValue`)."""
    db.run(
        f"CREATE TABLE {ident(schema, 'p')} (id INTEGER, day TIMESTAMP WITHOUT TIME ZONE, v TEXT, "
        "PRIMARY KEY (id, day)) PARTITIONED BY (day) CLUSTERED INTO 2 SHARDS "
        "WITH (number_of_replicas = '0-all')"
    )
    db.run(f"CREATE TABLE {ident(schema, 'plain')} (id INTEGER PRIMARY KEY) WITH (number_of_replicas = '0')")
    # CLUSTERED before PARTITIONED BY is the same statement (CrateDB source SqlBaseParser.g4
    # `partitionedByOrClusteredInto`).
    db.run(
        f"CREATE TABLE {ident(schema, 'q')} (id INTEGER, day TIMESTAMP WITHOUT TIME ZONE, "
        "PRIMARY KEY (id, day)) CLUSTERED INTO 3 SHARDS PARTITIONED BY (day)"
    )
    assert _tables_row(db, schema, "p") == [2, "0-all", ["day"]]
    assert _tables_row(db, schema, "plain")[1:] == ["0", None]
    assert _tables_row(db, schema, "q") == [3, "0-1", ["day"]]


def test_with_must_follow_clustered_and_partitioned(db: CrateHttp, schema: str) -> None:
    """WITH comes last (CrateDB source SqlBaseParser.g4 `createTable`)."""
    response = db.sql(
        f"CREATE TABLE {ident(schema, 'w')} (id INTEGER PRIMARY KEY) WITH (number_of_replicas = '0') "
        "CLUSTERED INTO 2 SHARDS"
    )
    assert response.status == 400 and response.code == 4000, response.describe()


def test_zero_shards_are_refused(db: CrateHttp, schema: str) -> None:
    """CrateDB source NumberOfShards.java `fromNumberOfShards`."""
    response = db.sql(f"CREATE TABLE {ident(schema, 'z')} (id INTEGER PRIMARY KEY) CLUSTERED INTO 0 SHARDS")
    assert response.status == 400, response.describe()
    assert "num_shards in CLUSTERED clause must be greater than 0" in response.message


def test_partition_column_outside_the_primary_key_is_refused(db: CrateHttp, schema: str) -> None:
    """CrateDB source TableElementsAnalyzer.java `ensureValidPartitionColumn`: "Cannot use non primary key
    column '...' in PARTITIONED BY clause if primary key is set on table" (the emulator words it
    differently; both name the column and 'non primary key column')."""
    response = db.sql(
        f"CREATE TABLE {ident(schema, 'n')} (id INTEGER PRIMARY KEY, day TIMESTAMP WITHOUT TIME ZONE) "
        "PARTITIONED BY (day)"
    )
    assert response.status == 400, response.describe()
    assert "Cannot use non primary key column 'day'" in response.message
    assert "n" not in db.tables(schema)


def test_partition_key_column_cannot_be_updated_and_rows_round_trip(db: CrateHttp, schema: str) -> None:
    """A partition column in the key is a key column: "Updating a primary key is not supported" comes first
    (CrateDB source DocTableRelation.java `ensureColumnCanBeUpdated`). Upserts, key updates of other columns
    and deletes by full key work on a partitioned table (CrateDB docs general/ddl/partitioned-tables)."""
    table = ident(schema, "pt")
    db.run(
        f"CREATE TABLE {table} (id INTEGER, day TIMESTAMP WITHOUT TIME ZONE, v TEXT, PRIMARY KEY (id, day)) "
        "PARTITIONED BY (day) CLUSTERED INTO 1 SHARDS WITH (number_of_replicas = '0')"
    )
    db.run(
        f"INSERT INTO {table} (id, day, v) VALUES (?, ?, ?) "
        "ON CONFLICT (id, day) DO UPDATE SET v = excluded.v",
        bulk_args=[[1, "2024-01-01", "a"], [2, "2024-01-02", "b"], [1, "2024-01-01", "c"]],
    )
    assert db.run(f"UPDATE {table} SET v = ? WHERE id = ? AND day = ?", ["d", 2, "2024-01-02"]).rowcount == 1
    assert db.run(f"DELETE FROM {table} WHERE id = ? AND day = ?", [2, "2024-01-02"]).rowcount == 1
    db.refresh(table)
    assert db.run(f"SELECT id, day, v FROM {table} ORDER BY id").rows == [[1, 1704067200000, "c"]]
    response = db.sql(f"UPDATE {table} SET day = ? WHERE id = ?", ["2024-01-03", 1])
    assert response.status == 400, response.describe()
    assert "Updating a primary key is not supported" in response.message


def test_more_than_1024_shards_are_refused(db: CrateHttp, schema: str) -> None:
    """CrateDB source IndexMetadata.java `buildNumberOfShardsSetting`: at most 1024 shards per table."""
    response = db.sql(f'CREATE TABLE "{schema}"."t" (x INTEGER) CLUSTERED INTO 1025 SHARDS')
    assert response.status == 400
    assert "must be <= 1024" in response.message


def test_updating_a_partition_column_is_a_column_validation_error(db: CrateHttp, schema: str) -> None:
    """CrateDB source DocTableRelation.java: ColumnValidationException, code 4003 (HttpError.java)."""
    db.run(f'CREATE TABLE "{schema}"."p" (x INTEGER, day TIMESTAMP) PARTITIONED BY (day)')
    response = db.sql(f'UPDATE "{schema}"."p" SET day = 0')
    assert response.error.get("code") == 4003
    assert "Validation failed for day: Updating a partitioned-by column is not supported" in response.message
