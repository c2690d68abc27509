"""Fixtures of the reliability suite: an in-process destination per module and a `Dest` per test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cratedb_destination.handlers import DestinationServicer
from cratedb_destination.server import start_server
from fivetran_proto import destination_sdk_pb2_grpc
from reliability_support import Dest, stub_for


@pytest.fixture(scope="module")
def destination_stub() -> Iterator[destination_sdk_pb2_grpc.DestinationConnectorStub]:
    """The destination served in this process over real gRPC, one per test module."""
    servicer = DestinationServicer()
    server, port = start_server("127.0.0.1", 0, servicer=servicer)
    channel, stub = stub_for(port)
    try:
        yield stub
    finally:
        channel.close()
        server.stop(None)
        servicer.close()


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
            client.reader.drop_schema(unique_schema)
        client.reader.close()
