"""Fixtures of the reliability suite: an in-process destination per module and a `Dest` per test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from crate_http import drop_schema_contents
from destination_testkit import destination_stub_fixture  # noqa: F401 - the `destination_stub` fixture
from fivetran_proto import destination_sdk_pb2_grpc
from reliability_support import Dest


@pytest.fixture()
def dest(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    cratedb_url: str,
    unique_schema: str,
    tmp_path: Path,
) -> Iterator[Dest]:
    """A client with its own schema on the shared CrateDB (emulator or real); the schema is dropped after."""
    client = Dest(destination_stub, cratedb_url, unique_schema, tmp_path)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            drop_schema_contents(client.reader, unique_schema)
        client.reader.close()
