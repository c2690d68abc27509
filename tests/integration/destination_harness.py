"""Drives the destination like Fivetran does: a real gRPC client against the in-process server, batch
files written the way Fivetran's core writes them (CSV -> zstd -> AES), and raw HTTP to read CrateDB back.

The fixtures `destination_stub`, `dest` (one test's `Dest` on the shared CrateDB) and `emulator_dest` (one on
a private emulator, for statistics and fault injection) are in conftest.py next to this file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crate_http import CrateHttp
from destination_testkit import DestinationClient, Files, proto_timestamp
from fivetran_proto import destination_sdk_pb2

SYNCED_1 = "2024-01-01T00:00:00.000Z"
SYNCED_2 = "2024-01-02T00:00:00.000Z"
SYNCED_3 = "2024-01-03T00:00:00.000Z"


@dataclass
class Dest(DestinationClient):
    """One test's view of the destination: RPCs return the raw response; `http` reads CrateDB back."""

    http: CrateHttp = field(kw_only=True)

    # -- RPCs ------------------------------------------------------------------------------------------

    def describe(self, name: str) -> Any:
        return self.stub.DescribeTable(self.describe_request(name))

    def create(self, definition: Any) -> Any:
        return self.stub.CreateTable(self.create_request(definition))

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
            utc_delete_before=proto_timestamp(before),
        )
        if soft:
            request.soft.deleted_column = "_fivetran_deleted"
        return self.stub.Truncate(request)

    def write(self, definition: Any, *, replace: Files = (), update: Files = (), delete: Files = ()) -> Any:
        """WriteBatch with one file per (columns, rows) entry of each kind."""
        request = self.write_request(
            definition,
            replace=self.batches(replace),
            update=self.batches(update),
            delete=self.batches(delete),
        )
        return self.stub.WriteBatch(request)

    def write_history(
        self,
        definition: Any,
        *,
        earliest: Files = (),
        replace: Files = (),
        update: Files = (),
        delete: Files = (),
    ) -> Any:
        """WriteHistoryBatch with one file per (columns, rows) entry of each kind."""
        request = self.history_request(
            definition,
            earliest=self.batches(earliest),
            replace=self.batches(replace),
            update=self.batches(update),
            delete=self.batches(delete),
        )
        return self.stub.WriteHistoryBatch(request)

    # -- reading CrateDB back ------------------------------------------------------------------------------

    def rows(
        self, name: str, columns: Sequence[str], order_by: str | Sequence[str] | None = None
    ) -> list[list[Any]]:
        return self.http.rows(self.schema, name, columns, order_by)

    def tables(self) -> list[str]:
        return self.http.tables(self.schema)


def ok(response: Any) -> None:
    """Assert a success response (showing the Task or Warning otherwise)."""
    kind = response.WhichOneof("response")
    assert kind == "success" and response.success, f"expected success, got {response}"
