"""Fixtures of the destination's integration tests (helpers in destination_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crate_http import CrateHttp, drop_schema_contents
from destination_harness import Dest
from destination_testkit import destination_stub_fixture  # noqa: F401 - the `destination_stub` fixture
from fivetran_proto import destination_sdk_pb2_grpc


def _dest_on(
    stub: destination_sdk_pb2_grpc.DestinationConnectorStub, url: str, schema: str, tmp: Path
) -> Iterator[Dest]:
    with CrateHttp(url) as http:
        yield Dest(stub, url, schema, tmp, http=http)
        drop_schema_contents(http, schema)


@pytest.fixture()
def db(cratedb_url: str) -> Iterator[CrateHttp]:
    """A plain `/_sql` client of the shared CrateDB (emulator or real), for tests that speak SQL directly."""
    with CrateHttp(cratedb_url) as http:
        yield http


@pytest.fixture()
def dest(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    cratedb_url: str,
    unique_schema: str,
    tmp_path: Path,
) -> Iterator[Dest]:
    """A client with its own schema on the shared CrateDB (emulator or real); the schema is dropped after."""
    yield from _dest_on(destination_stub, cratedb_url, unique_schema, tmp_path)


@pytest.fixture()
def emulator_dest(
    destination_stub: destination_sdk_pb2_grpc.DestinationConnectorStub,
    emulator: Any,
    unique_schema: str,
    tmp_path: Path,
) -> Iterator[Dest]:
    """A client of the test's private emulator (`emulator`), for statistics and fault injection."""
    yield from _dest_on(destination_stub, emulator.url, unique_schema, tmp_path)
