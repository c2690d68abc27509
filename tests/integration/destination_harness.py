"""Drives the destination like Fivetran does: a real gRPC client against the in-process server, batch
files written the way Fivetran's core writes them (CSV -> zstd -> AES), and raw HTTP to read CrateDB back.

Tests import `destination_server_fixture` and `dest_fixture` from here, which provide the fixtures
`destination_server` (module-scoped in-process server and stub) and `dest` (one test's `Dest`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from crate_http import CrateHttp, drop_schema_contents, ident
from cratedb_destination.batch import Cell, FileFormat
from cratedb_destination.handlers import DestinationServicer
from cratedb_destination.server import start_server
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc
from google.protobuf import timestamp_pb2

# Column shorthand: (name, type name) | (name, type name, primary key) | (name, type name, pk, params)
# where params is (precision, scale) for DECIMAL or an int byte length for STRING.
ColumnDef = tuple[Any, ...]


def column(name: str, type_name: str, primary_key: bool = False, params: Any = None) -> Any:
    data_type: Any = common_pb2.DataType.Value(type_name)
    proto = common_pb2.Column(name=name, type=data_type, primary_key=primary_key)
    if isinstance(params, tuple):
        proto.params.decimal.precision, proto.params.decimal.scale = params
    elif isinstance(params, int):
        proto.params.string_byte_length = params
    return proto


def table(name: str, columns: Sequence[ColumnDef]) -> Any:
    return common_pb2.Table(name=name, columns=[column(*spec) for spec in columns])


def timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


SYNCED_1 = "2024-01-01T00:00:00.000Z"
SYNCED_2 = "2024-01-02T00:00:00.000Z"
SYNCED_3 = "2024-01-03T00:00:00.000Z"


@pytest.fixture(scope="module", name="destination_server")
def destination_server_fixture() -> Iterator[
    tuple[destination_sdk_pb2_grpc.DestinationConnectorStub, DestinationServicer]
]:
    servicer = DestinationServicer()
    server, port = start_server(servicer=servicer)
    channel = grpc.insecure_channel(
        f"127.0.0.1:{port}",
        options=[("grpc.max_receive_message_length", 134217728), ("grpc.max_send_message_length", 134217728)],
    )
    try:
        yield destination_sdk_pb2_grpc.DestinationConnectorStub(channel), servicer
    finally:
        channel.close()
        server.stop(None)
        servicer.close()


@dataclass
class Dest:
    """One test's view of the destination: a schema of its own, files in tmp_path, raw HTTP reads."""

    stub: destination_sdk_pb2_grpc.DestinationConnectorStub
    servicer: DestinationServicer
    url: str
    schema: str
    tmp: Path
    http: CrateHttp
    configuration: dict[str, str] = field(default_factory=dict)
    fmt: FileFormat = field(
        default_factory=lambda: FileFormat(
            compression="zstd",
            encryption="aes",
            null_string=random_token("null"),
            unmodified_string=random_token("unmod"),
        )
    )
    _counter: Iterator[int] = field(default_factory=itertools.count)

    # -- RPCs ------------------------------------------------------------------------------------------

    def describe(self, name: str) -> Any:
        return self.stub.DescribeTable(
            destination_sdk_pb2.DescribeTableRequest(
                configuration=self.configuration, schema_name=self.schema, table_name=name
            )
        )

    def create(self, definition: Any) -> Any:
        return self.stub.CreateTable(
            destination_sdk_pb2.CreateTableRequest(
                configuration=self.configuration, schema_name=self.schema, table=definition
            )
        )

    def alter(self, definition: Any, drop_columns: bool = False) -> Any:
        return self.stub.AlterTable(
            destination_sdk_pb2.AlterTableRequest(
                configuration=self.configuration,
                schema_name=self.schema,
                table=definition,
                drop_columns=drop_columns,
            )
        )

    def truncate(
        self, name: str, before: dt.datetime, soft: bool = False, synced: str = "_fivetran_synced"
    ) -> Any:
        request = destination_sdk_pb2.TruncateRequest(
            configuration=self.configuration,
            schema_name=self.schema,
            table_name=name,
            synced_column=synced,
            utc_delete_before=timestamp(before),
        )
        if soft:
            request.soft.deleted_column = "_fivetran_deleted"
        return self.stub.Truncate(request)

    def file(self, columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> tuple[str, bytes | None]:
        path = self.tmp / f"batch_{next(self._counter)}.csv.zst.aes"
        key = new_key() if self.fmt.encryption == "aes" else None
        write_batch_file(str(path), columns, rows, fmt=self.fmt, key=key)
        return str(path), key

    def write(
        self,
        definition: Any,
        *,
        replace: Sequence[tuple[Sequence[str], Sequence[Sequence[Cell]]]] = (),
        update: Sequence[tuple[Sequence[str], Sequence[Sequence[Cell]]]] = (),
        delete: Sequence[tuple[Sequence[str], Sequence[Sequence[Cell]]]] = (),
    ) -> Any:
        """WriteBatch with one file per (columns, rows) entry of each kind."""
        keys: dict[str, bytes] = {}

        def paths(entries: Sequence[tuple[Sequence[str], Sequence[Sequence[Cell]]]]) -> list[str]:
            result = []
            for columns, rows in entries:
                path, key = self.file(columns, rows)
                if key is not None:
                    keys[path] = key
                result.append(path)
            return result

        request = destination_sdk_pb2.WriteBatchRequest(
            configuration=self.configuration,
            schema_name=self.schema,
            table=definition,
            keys=keys,
            replace_files=paths(replace),
            update_files=paths(update),
            delete_files=paths(delete),
            file_params=self.file_params(),
        )
        return self.stub.WriteBatch(request)

    def file_params(self) -> Any:
        compression = {"off": 0, "zstd": 1, "gzip": 2}[self.fmt.compression]
        encryption = {"none": 0, "aes": 1}[self.fmt.encryption]
        return destination_sdk_pb2.FileParams(
            compression=compression,  # type: ignore[arg-type]
            encryption=encryption,  # type: ignore[arg-type]
            null_string=self.fmt.null_string,
            unmodified_string=self.fmt.unmodified_string,
        )

    # -- reading CrateDB back ------------------------------------------------------------------------------

    def rows(self, name: str, columns: Sequence[str], order_by: str | None = None) -> list[list[Any]]:
        quoted = ", ".join(ident(c) for c in columns)
        self.http.refresh(ident(self.schema, name))
        order = f" ORDER BY {ident(order_by or columns[0])}"
        return self.http.run(f"SELECT {quoted} FROM {ident(self.schema, name)}{order}").rows

    def tables(self) -> list[str]:
        response = self.http.run(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [self.schema],
        )
        return [row[0] for row in response.rows]


@pytest.fixture(name="dest")
def dest_fixture(
    destination_server: tuple[destination_sdk_pb2_grpc.DestinationConnectorStub, DestinationServicer],
    cratedb_url: str,
    unique_schema: str,
    tmp_path: Path,
) -> Iterator[Dest]:
    stub, servicer = destination_server
    with CrateHttp(cratedb_url) as http:
        yield Dest(
            stub, servicer, cratedb_url, unique_schema, tmp_path, http, configuration={"url": cratedb_url}
        )
        drop_schema_contents(http, unique_schema)


def without_params(columns: Mapping[str, Any]) -> dict[str, Any]:
    return dict(columns)


def ok(response: Any) -> None:
    """Assert a success response (showing the Task or Warning otherwise)."""
    kind = response.WhichOneof("response")
    assert kind == "success" and response.success, f"expected success, got {response}"
