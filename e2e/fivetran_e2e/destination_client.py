"""A gRPC client of Fivetran's partner destination protocol (`fivetran_sdk.v2.DestinationConnector`).

Every call is unary; a Task answer or a gRPC error raises `DestinationError` naming the RPC and the table,
warnings are collected, and the time spent waiting for the destination is counted per RPC.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

import grpc
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc
from google.protobuf.timestamp_pb2 import Timestamp

from .dest_tables import DELETED, SYNCED, DestColumn, DestTable

MAX_MESSAGE_BYTES = 134_217_728


class DestinationError(Exception):
    """The destination answered with a Task or a gRPC error, or did not answer."""


class DestinationClient:
    """Unary calls to a `DestinationConnector`; a Task or a gRPC error raises DestinationError."""

    def __init__(self, address: str, configuration: Mapping[str, str], timeout: float = 3600.0) -> None:
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        self._channel = grpc.insecure_channel(address, options=options)
        self._stub = destination_sdk_pb2_grpc.DestinationConnectorStub(self._channel)
        self.configuration = dict(configuration)
        self.timeout = timeout
        self.warnings: list[str] = []
        self.calls: Counter[str] = Counter()
        self.seconds: dict[str, float] = {}  # time spent waiting for the destination, per RPC

    def close(self) -> None:
        self._channel.close()

    def wait_ready(self, seconds: float = 30.0) -> None:
        try:
            grpc.channel_ready_future(self._channel).result(timeout=seconds)
        except grpc.FutureTimeoutError:
            raise DestinationError(f"destination did not answer within {seconds:g} s") from None

    def _call(self, method: str, request: Any, what: str) -> Any:
        self.calls[method] += 1
        started = time.monotonic()
        try:
            response = getattr(self._stub, method)(request, timeout=self.timeout)
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            details = error.details() if hasattr(error, "details") else str(error)
            raise DestinationError(f"{method} {what} failed: {code}: {details}") from None
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
        form = self._call("ConfigurationForm", common_pb2.ConfigurationFormRequest(), "")
        names = []
        for test in form.tests:
            response = self._call(
                "Test", common_pb2.TestRequest(name=test.name, configuration=self.configuration), test.name
            )
            if response.WhichOneof("response") == "failure":
                raise DestinationError(f"destination setup test {test.name!r} failed: {response.failure}")
            names.append(test.name)
        return names

    def capabilities(self) -> int:
        try:
            return int(
                self._call("Capabilities", destination_sdk_pb2.CapabilitiesRequest(), "").batch_file_format
            )
        except DestinationError:
            return destination_sdk_pb2.CSV

    def describe(self, schema: str, table: str) -> DestTable | None:
        request = destination_sdk_pb2.DescribeTableRequest(
            configuration=self.configuration, schema_name=schema, table_name=table
        )
        response = self._call("DescribeTable", request, f"{schema}.{table}")
        if response.WhichOneof("response") != "table":
            return None
        return DestTable(
            schema, response.table.name, [DestColumn.from_proto(c) for c in response.table.columns]
        )

    def create(self, table: DestTable) -> None:
        request = destination_sdk_pb2.CreateTableRequest(
            configuration=self.configuration, schema_name=table.schema, table=table.to_proto()
        )
        self._call("CreateTable", request, str(table))

    def alter(self, table: DestTable) -> None:
        request = destination_sdk_pb2.AlterTableRequest(
            configuration=self.configuration,
            schema_name=table.schema,
            table=table.to_proto(),
            drop_columns=False,
        )
        self._call("AlterTable", request, str(table))

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
        self._call("Truncate", request, f"{schema}.{table}")

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
        self._call("WriteBatch", request, str(table))
