"""What the destination's test suites (tests/integration, tests/reliability) share: protobuf shorthands,
the destination served in this process over real gRPC, and a client base that writes batch files the way
Fivetran's core does (CSV -> zstd -> AES, via `fivetran_e2e.batch_writer`) and builds the requests.

Each suite's `Dest` subclasses `DestinationClient` and decides how an answer is reported (the raw response
in tests/integration, a classified `Outcome` in tests/reliability). The module lives in tests/, which
pytest puts on sys.path because tests/conftest.py is there, so `import destination_testkit` works from any
suite and when a single test file is run.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cratedb_destination.batch import Cell, FileFormat
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_e2e.destination_client import serve_in_process
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc
from google.protobuf import timestamp_pb2

# Column shorthand: (name, TYPE NAME[, primary key[, params]]) where params is (precision, scale) for
# DECIMAL or an int byte length for STRING.
ColumnDef = tuple[Any, ...]
# Batch files as (header, rows) pairs, one file per pair.
Files = Sequence[tuple[Sequence[str], Iterable[Sequence[Cell]]]]


# ---------------------------------------------------------------------------------------------------------
# Protobuf shorthands
# ---------------------------------------------------------------------------------------------------------


def column(name: str, type_name: str | int, primary_key: bool = False, params: Any = None) -> Any:
    data_type: Any = common_pb2.DataType.Value(type_name) if isinstance(type_name, str) else type_name
    proto = common_pb2.Column(name=name, type=data_type, primary_key=primary_key)
    if isinstance(params, tuple):
        proto.params.decimal.precision, proto.params.decimal.scale = params
    elif isinstance(params, int):
        proto.params.string_byte_length = params
    return proto


def table(name: str, columns: Sequence[ColumnDef]) -> Any:
    return common_pb2.Table(name=name, columns=[column(*spec) for spec in columns])


def names(columns: Sequence[ColumnDef]) -> list[str]:
    return [str(spec[0]) for spec in columns]


def proto_timestamp(value: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def new_format(compression: str = "zstd", encryption: str = "aes", kind: str = "csv") -> FileFormat:
    """A file format with fresh null/unmodified tokens, AES + zstd CSV unless told otherwise."""
    return FileFormat(
        compression,  # type: ignore[arg-type]
        encryption,  # type: ignore[arg-type]
        random_token("null"),
        random_token("unmod"),
        kind,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------------------
# Serving the destination (channels: `fivetran_e2e.destination_client`)
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", name="destination_stub")
def destination_stub_fixture() -> Iterator[destination_sdk_pb2_grpc.DestinationConnectorStub]:
    """The destination served in this process, one per test module (conftests import this fixture)."""
    with serve_in_process() as stub:
        yield stub


# ---------------------------------------------------------------------------------------------------------
# The client base
# ---------------------------------------------------------------------------------------------------------


@dataclass
class BatchRef:
    path: str
    key: bytes | None


@dataclass
class DestinationClient:
    """One test's client of the destination: its own schema, batch files in `tmp`, requests built here."""

    stub: destination_sdk_pb2_grpc.DestinationConnectorStub
    url: str
    schema: str
    tmp: Path
    configuration: dict[str, str] = field(default_factory=dict)
    fmt: FileFormat = field(default_factory=new_format)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        if not self.configuration:
            self.configuration = {"url": self.url}

    # -- files -------------------------------------------------------------------------------------------

    def new_path(self, suffix: str = ".csv.zst.aes") -> str:
        return str(self.tmp / f"batch_{next(self._counter)}{suffix}")

    def batch(
        self, columns: Sequence[str], rows: Iterable[Sequence[Cell]], fmt: FileFormat | None = None
    ) -> BatchRef:
        """A correct batch file (encrypted with a fresh key when the format says so)."""
        fmt = fmt or self.fmt
        path = self.new_path()
        key = new_key() if fmt.encryption == "aes" else None
        write_batch_file(path, columns, rows, fmt=fmt, key=key)
        return BatchRef(path, key)

    def batches(self, files: Files) -> list[BatchRef]:
        return [self.batch(columns, rows) for columns, rows in files]

    # -- requests ------------------------------------------------------------------------------------------

    def create_request(self, definition: Any, schema: str | None = None) -> Any:
        return destination_sdk_pb2.CreateTableRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table=definition,
        )

    def describe_request(self, name: str, schema: str | None = None) -> Any:
        return destination_sdk_pb2.DescribeTableRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table_name=name,
        )

    def write_request(
        self,
        definition: Any,
        replace: Sequence[BatchRef] = (),
        update: Sequence[BatchRef] = (),
        delete: Sequence[BatchRef] = (),
        fmt: FileFormat | None = None,
        keys: Mapping[str, bytes] | None = None,
        schema: str | None = None,
    ) -> Any:
        """WriteBatch of the files; `keys` defaults to the files' own keys."""
        return destination_sdk_pb2.WriteBatchRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table=definition,
            keys=_keys(replace, update, delete) if keys is None else keys,
            replace_files=[ref.path for ref in replace],
            update_files=[ref.path for ref in update],
            delete_files=[ref.path for ref in delete],
            file_params=(fmt or self.fmt).to_proto(),
        )

    def history_request(
        self,
        definition: Any,
        earliest: Sequence[BatchRef] = (),
        replace: Sequence[BatchRef] = (),
        update: Sequence[BatchRef] = (),
        delete: Sequence[BatchRef] = (),
    ) -> Any:
        return destination_sdk_pb2.WriteHistoryBatchRequest(
            configuration=self.configuration,
            schema_name=self.schema,
            table=definition,
            keys=_keys(earliest, replace, update, delete),
            earliest_start_files=[ref.path for ref in earliest],
            replace_files=[ref.path for ref in replace],
            update_files=[ref.path for ref in update],
            delete_files=[ref.path for ref in delete],
            file_params=self.fmt.to_proto(),
        )


def _keys(*groups: Sequence[BatchRef]) -> dict[str, bytes]:
    return {ref.path: ref.key for refs in groups for ref in refs if ref.key is not None}
