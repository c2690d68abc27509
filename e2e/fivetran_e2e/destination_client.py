"""The one gRPC client of Fivetran's partner destination protocol (`fivetran_sdk.v2.DestinationConnector`)
that the harness, the scenario runner, the tests and the benchmarks share.

`CHANNEL_OPTIONS` are the server's own message size limits (`cratedb_destination.settings.
MESSAGE_SIZE_OPTIONS`, Fivetran's 128 MiB): with gRPC's default 4 MiB receive limit a client would fail on
answers the destination is allowed to send. The module lives in the harness package because everything
that talks to the destination already depends on it, while the destination itself never needs a client.

`DestinationClient` makes unary calls: a Task answer or a gRPC error raises `DestinationError` naming the
RPC and the table, warnings are collected, and the time spent waiting for the destination is counted per
RPC.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import grpc
from cratedb_destination.settings import MESSAGE_SIZE_OPTIONS, ServerSettings
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from .dest_tables import DELETED, SYNCED, DestColumn, DestTable

Stub = destination_sdk_pb2_grpc.DestinationConnectorStub

CHANNEL_OPTIONS = MESSAGE_SIZE_OPTIONS


def connect(address: str) -> tuple[grpc.Channel, Stub]:
    """A plaintext channel to the destination at `address` ("host:port") and a stub on it."""
    channel = grpc.insecure_channel(address, options=list(CHANNEL_OPTIONS))
    return channel, Stub(channel)


@contextlib.contextmanager
def serve_in_process(settings: ServerSettings | None = None) -> Iterator[Stub]:
    """The destination in this process on a free loopback port, and a client of it (tests, benchmarks).

    Everything (channel, server, the servicer's CrateDB connections) is closed on exit.
    """
    # Imported here: the harness's command line should not load the destination unless it serves one.
    from cratedb_destination.handlers import DestinationServicer
    from cratedb_destination.server import start_server

    servicer = DestinationServicer(settings)
    server, port = start_server("127.0.0.1", 0, servicer=servicer)
    channel, stub = connect(f"127.0.0.1:{port}")
    try:
        yield stub
    finally:
        channel.close()
        server.stop(None)
        servicer.close()


class DestinationError(Exception):
    """The destination answered with a Task or a gRPC error, or did not answer.

    `code` and `details` are set for a gRPC error, so that callers can tell e.g. UNIMPLEMENTED apart.
    """

    def __init__(self, message: str, code: grpc.StatusCode | None = None, details: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.details = details


class DestinationClient:
    """Unary calls to a `DestinationConnector`; a Task or a gRPC error raises DestinationError."""

    def __init__(self, address: str, configuration: Mapping[str, str], timeout: float = 3600.0) -> None:
        self.channel, self.stub = connect(address)
        self.configuration = dict(configuration)
        self.timeout = timeout
        self.warnings: list[str] = []
        self.calls: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}  # time spent waiting for the destination, per RPC

    def close(self) -> None:
        self.channel.close()

    def wait_ready(self, seconds: float = 30.0) -> None:
        try:
            grpc.channel_ready_future(self.channel).result(timeout=seconds)
        except grpc.FutureTimeoutError:
            raise DestinationError(f"destination did not answer within {seconds:g} s") from None

    def call(self, method: str, request: Any, what: str) -> Any:
        """RPC `method` with `request`; `what` names its subject (e.g. the table) in messages."""
        self.calls[method] += 1
        started = time.monotonic()
        try:
            response = getattr(self.stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            details = error.details() if hasattr(error, "details") else str(error)
            raise DestinationError(f"{method} {what} failed: {code}: {details}", code, details) from None
        finally:
            self.seconds[method] = self.seconds.get(method, 0.0) + time.monotonic() - started
        kind = response.WhichOneof("response") if response.DESCRIPTOR.oneofs_by_name.get("response") else None
        if kind == "task":
            raise DestinationError(
                f"{method} {what}: the destination returned a Task: {response.task.message}"
            )
        if kind == "warning":
            self.warnings.append(f"{method} {what}: {response.warning.message}")
        return response

    def check_setup(self) -> list[str]:
        """ConfigurationForm, then every Test it declares, as Fivetran does when a destination is set up."""
        form = self.call("ConfigurationForm", common_pb2.ConfigurationFormRequest(), "")
        names = []
        for test in form.tests:
            response = self.call(
                "Test", common_pb2.TestRequest(name=test.name, configuration=self.configuration), test.name
            )
            if response.WhichOneof("response") == "failure":
                raise DestinationError(f"destination setup test {test.name!r} failed: {response.failure}")
            names.append(test.name)
        return names

    def capabilities(self) -> int:
        try:
            return int(
                self.call("Capabilities", destination_sdk_pb2.CapabilitiesRequest(), "").batch_file_format
            )
        except DestinationError:
            return destination_sdk_pb2.CSV

    def describe(self, schema: str, table: str) -> DestTable | None:
        request = destination_sdk_pb2.DescribeTableRequest(
            configuration=self.configuration, schema_name=schema, table_name=table
        )
        response = self.call("DescribeTable", request, f"{schema}.{table}")
        if response.WhichOneof("response") != "table":
            return None
        return DestTable(
            schema, response.table.name, [DestColumn.from_proto(c) for c in response.table.columns]
        )

    def create(self, table: DestTable) -> None:
        request = destination_sdk_pb2.CreateTableRequest(
            configuration=self.configuration, schema_name=table.schema, table=table.to_proto()
        )
        self.call("CreateTable", request, str(table))

    def alter(self, table: DestTable) -> None:
        request = destination_sdk_pb2.AlterTableRequest(
            configuration=self.configuration,
            schema_name=table.schema,
            table=table.to_proto(),
            drop_columns=False,
        )
        self.call("AlterTable", request, str(table))

    def truncate(self, schema: str, table: str, before_micros: int) -> None:
        before = Timestamp()
        before.FromMicroseconds(before_micros)
        request = destination_sdk_pb2.TruncateRequest(
            configuration=self.configuration,
            schema_name=schema,
            table_name=table,
            synced_column=SYNCED,
            utc_delete_before=before,
            soft=destination_sdk_pb2.SoftTruncate(deleted_column=DELETED),
        )
        self.call("Truncate", request, f"{schema}.{table}")

    def write_batch(
        self,
        table: DestTable,
        keys: Mapping[str, bytes],
        replace_files: list[str],
        update_files: list[str],
        params: Any,
    ) -> None:
        request = destination_sdk_pb2.WriteBatchRequest(
            configuration=self.configuration,
            schema_name=table.schema,
            table=table.to_proto(),
            keys=dict(keys),
            replace_files=replace_files,
            update_files=update_files,
            file_params=params,
        )
        self.call("WriteBatch", request, str(table))
