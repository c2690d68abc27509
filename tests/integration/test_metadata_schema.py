"""The metadata record's own schema, and records an earlier version kept under `fivetran_metadata` (the
schema Fivetran's Platform Connector writes into) moved on first use. Runs against a real CrateDB too."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crate_http import CrateHttp, ident
from cratedb_destination.client import CrateClient
from cratedb_destination.config import DEFAULT_METADATA_SCHEMA, LEGACY_METADATA_SCHEMA, parse_configuration
from cratedb_destination.metadata import MetadataStore, encode
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import JSON, ColumnSpec, FivetranType

pytestmark = pytest.mark.cratedb

LEGACY_COLUMNS = (
    '"schema_name" TEXT, "table_name" TEXT, "columns" TEXT INDEX OFF STORAGE WITH (columnstore = false), '
    '"updated_at" TIMESTAMP WITH TIME ZONE, PRIMARY KEY ("schema_name", "table_name")'
)


@pytest.fixture()
def client(cratedb_url: str) -> Iterator[CrateClient]:
    crate = CrateClient(parse_configuration({"url": cratedb_url}))
    yield crate
    crate.close()


def test_the_default_metadata_schema_is_not_fivetrans_own() -> None:
    assert DEFAULT_METADATA_SCHEMA != LEGACY_METADATA_SCHEMA == "fivetran_metadata"


def test_records_under_the_old_schema_are_moved_on_first_use(
    client: CrateClient, cratedb_url: str, unique_schema: str
) -> None:
    old, new = f"{unique_schema}_old", f"{unique_schema}_new"
    spec = [ColumnSpec("doc", FivetranType(JSON))]
    with CrateHttp(cratedb_url) as http:
        http.run(f"CREATE TABLE {ident(old, 'column_types')} ({LEGACY_COLUMNS})")
        http.run(
            f"INSERT INTO {ident(old, 'column_types')} VALUES (?, ?, ?, ?)",
            ["data", "events", encode(spec), "2024-01-01T00:00:00Z"],
        )
        store = MetadataStore(new, legacy_schema=old)
        try:
            with client.session() as session:
                recorded = store.read(session, TableRef("data", "events"))
                assert recorded is not None and recorded["doc"].type == FivetranType(JSON)
                assert not session.table_exists(TableRef(old, "column_types"))
                assert session.table_exists(TableRef(new, "column_types"))
        finally:
            http.run(f"DROP TABLE IF EXISTS {ident(old, 'column_types')}")
            http.run(f"DROP TABLE IF EXISTS {ident(new, 'column_types')}")


def test_a_table_of_other_columns_under_the_old_name_is_left_alone(
    client: CrateClient, cratedb_url: str, unique_schema: str
) -> None:
    old, new = f"{unique_schema}_old", f"{unique_schema}_new"
    with CrateHttp(cratedb_url) as http:
        http.run(f"CREATE TABLE {ident(old, 'column_types')} (x INTEGER)")
        store = MetadataStore(new, legacy_schema=old)
        try:
            with client.session() as session:
                assert store.read(session, TableRef("data", "events")) is None
                assert session.table_exists(TableRef(old, "column_types"))
        finally:
            http.run(f"DROP TABLE IF EXISTS {ident(old, 'column_types')}")
            http.run(f"DROP TABLE IF EXISTS {ident(new, 'column_types')}")
