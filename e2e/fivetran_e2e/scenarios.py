"""`fivetran-e2e scenarios PATH...`: runs destination-tester scenario files and checks what CrateDB holds.

Each file is driven the way Fivetran's destination tester drives a destination — create_table, alter_table,
ops (each a WriteBatch, WriteHistoryBatch or Truncate with its own `_fivetran_synced` time), schema_migration
(AlterTable or Migrate), describe_table — with encrypted, compressed batch files in a private temporary
folder. Afterwards every table of the file's schema is read back from CrateDB and compared with the
reference model (`fivetran_e2e.model`), and DescribeTable answers are compared with the model's columns.

By default the destination runs in this process on a free port, on top of the embedded CrateDB emulator.
Exit code 0 only when every file matches.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import string
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import InvalidOperation
from enum import Enum
from pathlib import Path
from typing import Any

import grpc
from cratedb_destination.batch import UNMODIFIED, Cell, FileFormat
from cratedb_destination.config import DEFAULT_METADATA_SCHEMA
from cratedb_destination.sql.identifiers import TableRef, column
from fivetran_proto import common_pb2, destination_sdk_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_e2e.cli import add_destination_setting_argument, destination_settings
from fivetran_e2e.cratedb_reader import CrateReader
from fivetran_e2e.data_types import row_named
from fivetran_e2e.dest_tables import crate_column_name
from fivetran_e2e.destination_client import DestinationClient, DestinationError
from fivetran_e2e.model import (
    DELETED,
    KEEP,
    SYNCED,
    AlterCall,
    BatchCall,
    Call,
    Clock,
    Column,
    CreateCall,
    DescribeCall,
    MigrateCall,
    Model,
    ScenarioError,
    Table,
    TruncateCall,
    canonical,
    cell_text,
    comparable,
    load_scenario,
    parse_scenario,
    scenario_settings,
)

RPC_TIMEOUT_SECONDS = 600.0
# How `set_column_to_null` spells NULL in UpdateColumnValueOperation.value, a plain string whose NULL
# spelling the SDK migration guide leaves open (the ClickHouse destination reads "" or "NULL" as NULL).
NULL_VALUE = "NULL"
METADATA_TABLE = TableRef(DEFAULT_METADATA_SCHEMA, "column_types")
# The destination setting that stores new non-key JSON columns as OBJECT(IGNORED) when it is "object"
# (docs/destination.md "Configuration"; TEXT otherwise, the default).
JSON_STORAGE_SETTING, JSON_AS_OBJECT = "json_storage", "object"
_SHOWN_CHARS = 60


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"  # CrateDB or DescribeTable differs from the model
    ERROR = "error"  # an RPC failed: a Task, a gRPC error, or an empty answer
    UNSUPPORTED = "unsupported by destination"  # UNIMPLEMENTED, or Migrate answered `unsupported`
    INVALID = "invalid scenario"


class Unsupported(Exception):
    def __init__(self, rpc: str, message: str) -> None:
        super().__init__(f"{rpc}: {message}")
        self.rpc = rpc


class RpcFailed(Exception):
    pass


@dataclass
class FileResult:
    file: str
    schema: str
    status: Status
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # where CrateDB's rows differ from the source's by design, and why (the model reproduces it)
    notes: list[str] = field(default_factory=list)
    rpcs: dict[str, int] = field(default_factory=dict)
    unsupported_rpc: str | None = None
    seconds: float = 0.0
    model: Model | None = field(default=None, repr=False, compare=False)  # the expected final state

    def to_json(self) -> dict[str, Any]:
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}
        return values | {"status": self.status.value}


# --------------------------------------------------------------------------------------------------------
# Requests


def _column_proto(column_: Column) -> common_pb2.Column:
    proto = common_pb2.Column(name=column_.name, type=column_.type, primary_key=column_.primary_key)
    if column_.precision is not None and column_.scale is not None:
        proto.params.decimal.precision = column_.precision
        proto.params.decimal.scale = column_.scale
    elif column_.string_byte_length is not None:
        proto.params.string_byte_length = column_.string_byte_length
    return proto


def _table_proto(name: str, columns: Sequence[Column]) -> common_pb2.Table:
    return common_pb2.Table(name=name, columns=[_column_proto(c) for c in columns])


def _timestamp(ms: int) -> Timestamp:
    return Timestamp(seconds=ms // 1000, nanos=(ms % 1000) * 1_000_000)


def _migration_details(schema: str, call: MigrateCall) -> destination_sdk_pb2.MigrationDetails:
    """The MigrationDetails oneof leaf for each operation of the model (SDK proto destination_sdk.proto;
    SDK migration guide)."""
    pb = destination_sdk_pb2
    f = dict(call.fields)
    details = pb.MigrationDetails(schema=schema, table=call.table)
    op = call.operation
    if op == "copy_column":
        details.copy.copy_column.CopyFrom(
            pb.CopyColumn(from_column=f["from_column"], to_column=f["to_column"])
        )
    elif op == "copy_table":
        details.copy.copy_table.CopyFrom(pb.CopyTable(from_table=f["from_table"], to_table=f["to_table"]))
    elif op == "copy_table_to_history_mode":
        details.copy.copy_table_to_history_mode.CopyFrom(pb.CopyTableToHistoryMode(**f))
    elif op == "rename_column":
        details.rename.rename_column.CopyFrom(pb.RenameColumn(**f))
    elif op == "rename_table":
        details.rename.rename_table.CopyFrom(pb.RenameTable(**f))
    elif op == "drop_table":
        details.drop.drop_table = True
    elif op == "drop_column_in_history_mode":
        details.drop.drop_column_in_history_mode.CopyFrom(pb.DropColumnInHistoryMode(**f))
    elif op == "add_column_with_default_value":
        details.add.add_column_with_default_value.CopyFrom(pb.AddColumnWithDefaultValue(**f))
    elif op == "add_column_in_history_mode":
        details.add.add_column_in_history_mode.CopyFrom(pb.AddColumnInHistoryMode(**f))
    elif op == "update_column_value":
        value = NULL_VALUE if f["value"] is None else str(f["value"])
        details.update_column_value.CopyFrom(pb.UpdateColumnValueOperation(column=f["column"], value=value))
    elif op in ("soft_delete_to_history", "history_to_soft_delete"):
        kind = pb.SOFT_DELETE_TO_HISTORY if op == "soft_delete_to_history" else pb.HISTORY_TO_SOFT_DELETE
        migration = pb.TableSyncModeMigrationOperation(
            type=kind, soft_deleted_column=f["soft_deleted_column"]
        )
        details.table_sync_mode_migration.CopyFrom(migration)
    else:
        raise ScenarioError(f"no Migrate operation for {op!r}")
    return details


class BatchFiles:
    """Writes a BatchCall's rows as Fivetran-style batch files into a private folder."""

    def __init__(self, folder: Path, plain_text: bool, parquet: bool) -> None:
        self.folder = folder
        self.plain_text = plain_text
        self.kind: Any = "parquet" if parquet else "csv"
        self.count = 0

    def file_format(self) -> FileFormat:
        """Fresh null/unmodified tokens per request (inferred: the SDK guide has destinations read them from
        FileParams, never assume them)."""
        return FileFormat(
            compression="off" if self.plain_text else "zstd",
            encryption="none" if self.plain_text else "aes",
            null_string=random_token("null"),
            unmodified_string=random_token("unmod"),
            kind=self.kind,
        )

    def write(
        self,
        fmt: FileFormat,
        keys: dict[str, bytes],
        columns: Sequence[Column],
        rows: Sequence[Mapping[str, Any]],
    ) -> list[str]:
        if not rows:
            return []
        self.count += 1
        suffix = ".parquet" if self.kind == "parquet" else ".csv"
        suffix += "" if self.plain_text else ".zst.aes"
        path = str(self.folder / f"{self.count:04d}{suffix}")
        key = None if self.plain_text else new_key()
        cells = ([_cell(row[c.name], c) for c in columns] for row in rows)
        write_batch_file(path, [c.name for c in columns], cells, fmt=fmt, key=key)
        if key is not None:
            keys[path] = key
        return [path]


def _cell(value: Any, column_: Column) -> Cell:
    return UNMODIFIED if value is KEEP else cell_text(value, column_)


# --------------------------------------------------------------------------------------------------------
# Reading CrateDB back


def from_cratedb(value: Any, column_: Column) -> Any:
    """A value as CrateDB returns it over HTTP, in the model's canonical form (see `fivetran_e2e.model`)."""
    if value is None:
        return None
    read = row_named(column_.type).from_cratedb
    return canonical(value, column_) if read is None else read(value)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} chars)"


def compare_rows(table: Table, actual_rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Differences between the model's rows and canonical CrateDB rows, keyed by primary key."""
    columns = table.columns

    def normalised(row: Mapping[str, Any]) -> dict[str, Any]:
        return {name: comparable(row[name], c) for name, c in columns.items()}

    def key(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] for name in table.key_columns)

    expected = {key(n): n for n in map(normalised, table.rows.values())}
    actual: dict[tuple[Any, ...], dict[str, Any]] = {}
    problems = []
    for row in map(normalised, actual_rows):
        if key(row) in actual:
            problems.append(f"{table.name}: key {_shown(key(row))} appears twice in CrateDB")
        actual[key(row)] = row
    for missing in sorted(expected.keys() - actual.keys(), key=repr):
        problems.append(f"{table.name}: row {_shown(missing)} is missing in CrateDB")
    for extra in sorted(actual.keys() - expected.keys(), key=repr):
        problems.append(f"{table.name}: unexpected row {_shown(extra)} in CrateDB")
    for shared in sorted(expected.keys() & actual.keys(), key=repr):
        for name in columns:
            want, got = expected[shared][name], actual[shared][name]
            if want != got or type(want) is not type(got):
                where = f"{table.name}: row {_shown(shared)} column {name!r}"
                problems.append(f"{where}: expected {_shown(want)}, got {_shown(got)}")
    return problems


def compare_described(name: str, expected: list[Column] | None, response: Any) -> list[str]:
    """A DescribeTable answer against the model's columns (types, PK flags and params) or not_found."""
    kind = response.WhichOneof("response")
    if expected is None:
        return [] if kind == "not_found" else [f"DescribeTable {name}: expected not_found, got {kind}"]
    if kind != "table":
        return [f"DescribeTable {name}: expected the table, got {kind}"]

    def signature(c: Column) -> tuple[Any, ...]:
        return (c.type, c.primary_key, c.precision, c.scale, c.string_byte_length)

    want = {c.name: signature(c) for c in expected}
    got = {c.name: signature(_column_from_proto(c)) for c in response.table.columns}
    problems = [f"DescribeTable {name}: column {c!r} is missing" for c in want.keys() - got.keys()]
    problems += [f"DescribeTable {name}: unexpected column {c!r}" for c in got.keys() - want.keys()]
    for c in sorted(want.keys() & got.keys()):
        if want[c] != got[c]:
            problems.append(
                f"DescribeTable {name}: column {c!r} is (type, pk, precision, scale, byte length) {got[c]}, "
                f"expected {want[c]}"
            )
    return sorted(problems)


def _column_from_proto(proto: Any) -> Column:
    precision = scale = length = None
    if proto.HasField("params"):
        which = proto.params.WhichOneof("params")
        if which == "decimal":
            precision, scale = proto.params.decimal.precision, proto.params.decimal.scale
        elif which == "string_byte_length":
            length = proto.params.string_byte_length
    type_name = common_pb2.DataType.Name(proto.type)
    return Column(proto.name, type_name, proto.primary_key, precision, scale, length)


# --------------------------------------------------------------------------------------------------------
# The runner


class ScenarioRunner:
    """Runs scenario files against one destination and one CrateDB; each file gets its own schema."""

    def __init__(
        self,
        address: str,
        cratedb_url: str,
        *,
        schema_name: str = "tester",
        plain_text: bool = False,
        parquet: bool = False,
        keep: bool = False,
        configuration: Mapping[str, str] | None = None,
    ) -> None:
        self.address = address
        self.schema_prefix = f"{schema_name}_{_run_id()}"
        self.plain_text = plain_text
        self.parquet = parquet
        self.keep = keep
        self.configuration = dict(configuration or {"url": cratedb_url})
        # Counts each file's RPCs and collects its warnings (both are reset per file).
        self._client = DestinationClient(address, self.configuration, timeout=RPC_TIMEOUT_SECONDS)
        self.cratedb_url = cratedb_url
        self._crate: CrateReader | None = None
        self._described: set[str] = set()

    @property
    def _reader(self) -> CrateReader:
        """Connected on first use: the driver contacts CrateDB as soon as it is created."""
        if self._crate is None:
            self._crate = CrateReader(self.cratedb_url)
        return self._crate

    def close(self) -> None:
        if self._crate is not None:
            self._crate.close()
        self._client.close()

    def __enter__(self) -> ScenarioRunner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def wait_ready(self, seconds: float = 30.0) -> None:
        self._client.wait_ready(seconds)

    def setup_tests(self) -> list[str]:
        """ConfigurationForm, then each declared Test, as the tester does before any file; returns failures.

        Raises Unsupported when the destination has no ConfigurationForm yet."""
        try:
            form = self._client.stub.ConfigurationForm(common_pb2.ConfigurationFormRequest(), timeout=60)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNIMPLEMENTED:
                raise Unsupported("ConfigurationForm", str(error.details())) from None
            return [f"ConfigurationForm: {_error_text(error)}"]
        failures = []
        for test in form.tests:
            request = common_pb2.TestRequest(name=test.name, configuration=self.configuration)
            try:
                response = self._client.stub.Test(request, timeout=120)
            except grpc.RpcError as error:
                failures.append(f"Test {test.name}: {_error_text(error)}")
                continue
            if response.WhichOneof("response") != "success" or not response.success:
                failures.append(f"Test {test.name}: {response.failure or 'no success'}")
        return failures

    # ---- one file ------------------------------------------------------------------------------------

    def run_file(self, path: Path) -> FileResult:
        started = time.monotonic()
        schema = f"{self.schema_prefix}_{_slug(path.stem)}"
        result = FileResult(path.name, schema, Status.PASS)
        self._client.calls.clear()
        self._client.warnings.clear()
        self._described = set()
        try:
            document = load_scenario(path.read_text(encoding="utf-8"))
            steps = parse_scenario(document)
            file_settings = scenario_settings(document)
            clock = Clock(base_ms=int(time.time()) * 1000)
            Model().run(steps, clock)  # a dry run: reject a bad scenario before touching the destination
        except (ScenarioError, ValueError) as error:
            result.status, result.problems = Status.INVALID, [str(error)]
            return result
        folder = Path(tempfile.mkdtemp(prefix="fivetran-scenario-"))  # readable by this user only
        model = Model()
        named: set[str] = set()
        base_configuration = self.configuration
        self.configuration = {**base_configuration, **file_settings}
        try:
            files = BatchFiles(folder, self.plain_text, self.parquet)
            for step in steps:
                call = model.call_for(step, clock)
                named |= _tables_named(call)
                result.problems += self._send(schema, call, model, files)
                model.apply(call)
            result.model = model
            result.problems += self.describe_remaining(schema, model, named)
            result.problems += self.check_state(schema, model)
            result.status = Status.FAIL if result.problems else Status.PASS
        except Unsupported as error:
            result.status, result.unsupported_rpc = Status.UNSUPPORTED, error.rpc
            result.problems = [str(error)]
        except RpcFailed as error:
            result.status, result.problems = Status.ERROR, [str(error)]
        except ScenarioError as error:  # the dry run passed, so this is a bug of the model: report it
            result.status, result.problems = Status.INVALID, [f"model: {error}"]
        finally:
            self.configuration = base_configuration
            shutil.rmtree(folder, ignore_errors=True)
            if not self.keep:
                self.drop_schema(schema)
            result.rpcs, result.warnings = dict(self._client.calls), list(self._client.warnings)
            result.notes = list(model.notes)
            result.seconds = round(time.monotonic() - started, 3)
        return result

    def describe_remaining(self, schema: str, model: Model, named: set[str]) -> list[str]:
        """DescribeTable for every table the file named but did not describe (gone ones: not_found)."""
        problems = []
        for table in sorted(named - self._described):
            rpc, request = self._request(schema, DescribeCall(table))
            problems += compare_described(table, model.describe(table), self._rpc(rpc, request))
        return problems

    def _send(self, schema: str, call: Call, model: Model, files: BatchFiles) -> list[str]:
        """Send one call; DescribeTable answers are compared with the model at this point."""
        if isinstance(call, DescribeCall):
            self._described.add(call.table)
        if isinstance(call, BatchCall):
            self._write_batch(schema, call, files)
            return []
        rpc, request = self._request(schema, call)
        response = self._rpc(rpc, request)
        if isinstance(call, DescribeCall):
            return compare_described(call.table, model.describe(call.table), response)
        return []

    def _request(self, schema: str, call: Call) -> tuple[str, Any]:
        pb = destination_sdk_pb2
        cfg = self.configuration
        if isinstance(call, CreateCall):
            table = _table_proto(call.table, call.columns)
            return "CreateTable", pb.CreateTableRequest(configuration=cfg, schema_name=schema, table=table)
        if isinstance(call, AlterCall):
            table = _table_proto(call.table, call.columns)
            alter = pb.AlterTableRequest(
                configuration=cfg, schema_name=schema, table=table, drop_columns=call.drop_columns
            )
            return "AlterTable", alter
        if isinstance(call, TruncateCall):
            truncate = pb.TruncateRequest(
                configuration=cfg,
                schema_name=schema,
                table_name=call.table,
                synced_column=SYNCED,
                utc_delete_before=_timestamp(call.before_ms),
            )
            if call.soft:
                truncate.soft.deleted_column = DELETED
            return "Truncate", truncate
        if isinstance(call, MigrateCall):
            return "Migrate", pb.MigrateRequest(configuration=cfg, details=_migration_details(schema, call))
        if isinstance(call, DescribeCall):
            describe = pb.DescribeTableRequest(configuration=cfg, schema_name=schema, table_name=call.table)
            return "DescribeTable", describe
        raise TypeError(f"no request for {call!r}")

    def _write_batch(self, schema: str, call: BatchCall, files: BatchFiles) -> None:
        pb = destination_sdk_pb2
        fmt = files.file_format()
        keys: dict[str, bytes] = {}
        columns = call.columns
        replace = files.write(fmt, keys, columns, call.replace)
        update = files.write(fmt, keys, columns, call.update)
        delete = files.write(fmt, keys, columns, call.delete)
        common: dict[str, Any] = {
            "configuration": self.configuration,
            "schema_name": schema,
            "table": _table_proto(call.table, columns),
            "keys": keys,
            "replace_files": replace,
            "update_files": update,
            "delete_files": delete,
            "file_params": fmt.to_proto(),
        }
        if call.history:
            earliest = files.write(fmt, keys, call.earliest_start_columns, call.earliest_start)
            self._rpc(
                "WriteHistoryBatch", pb.WriteHistoryBatchRequest(earliest_start_files=earliest, **common)
            )
        else:
            self._rpc("WriteBatch", pb.WriteBatchRequest(**common))

    def _rpc(self, name: str, request: Any) -> Any:
        """Call `name`; UNIMPLEMENTED and Migrate's `unsupported` raise Unsupported, failures RpcFailed."""
        subject = _request_subject(name, request)
        what = f"{name} {subject}"
        try:
            response = self._client.call(name, request, subject)  # counts the call, collects a warning
        except DestinationError as error:
            if error.code == grpc.StatusCode.UNIMPLEMENTED:
                raise Unsupported(name, f"{what}: {error.details}") from None
            if error.code is not None:
                raise RpcFailed(f"{what}: {error.code.name}: {error.details}") from None
            raise RpcFailed(str(error)) from None  # a Task: "<what>: the destination returned a Task: ..."
        kind = response.WhichOneof("response")
        if kind == "unsupported" and response.unsupported:
            raise Unsupported(name, f"{what}: the destination answered unsupported")
        if kind is None or (kind == "success" and not response.success):
            raise RpcFailed(f"{what}: the destination answered without success")
        return response

    # ---- checking CrateDB ----------------------------------------------------------------------------

    def check_state(self, schema: str, model: Model) -> list[str]:
        """The schema's tables (none missing, none extra: dropped and renamed ones are gone) and each
        table's columns and rows against the model."""
        present = set(self._reader.tables(schema))
        missing, extra = sorted(model.tables.keys() - present), sorted(present - model.tables.keys())
        problems = [f"table {t!r} should exist in CrateDB but does not" for t in missing]
        problems += [
            f"table {t!r} should not exist in CrateDB (dropped, renamed or never created)" for t in extra
        ]
        for name in sorted(model.tables.keys() & present):
            problems += self._check_table(TableRef(schema, name), model.tables[name])
        return problems

    def _check_table(self, ref: TableRef, table: Table) -> list[str]:
        # CrateDB's columns by the Fivetran name they should hold (a system column name is stored renamed).
        fivetran_names = {crate_column_name(name): name for name in table.columns}
        kinds = {fivetran_names.get(c.name, c.name): c.data_type for c in self._reader.columns(ref)}
        physical = set(kinds)
        problems = [
            f"{table.name}: column {c!r} is missing in CrateDB"
            for c in sorted(table.columns.keys() - physical)
        ]
        problems += [
            f"{table.name}: unexpected column {c!r} in CrateDB"
            for c in sorted(physical - table.columns.keys())
        ]
        if problems:
            return problems
        problems = self._json_storage_problems(table, kinds)
        if problems:
            return problems
        self._reader.refresh(ref)
        names = list(table.columns)
        select = ", ".join(
            f"{column(n)}::TEXT" if row_named(table.columns[n].type).cratedb_as_text else column(n)
            for n in names
        )
        rows: list[dict[str, Any]] = []
        for raw in self._reader.execute(f"SELECT {select} FROM {ref.sql}"):
            row = {}
            for name, value in zip(names, raw, strict=True):
                try:
                    row[name] = from_cratedb(value, table.columns[name])
                except (ValueError, InvalidOperation) as error:
                    row[name] = ("unreadable", str(value)[:_SHOWN_CHARS], str(error)[:_SHOWN_CHARS])
            rows.append(row)
        return compare_rows(table, rows)

    def _json_storage_problems(self, table: Table, kinds: Mapping[str, str]) -> list[str]:
        """JSON columns stored as the `json_storage` setting says (docs/destination.md "Configuration",
        docs/types.md "JSON as OBJECT"): OBJECT for non-key columns with "object", else TEXT. Values compare
        alike either way, so only the column type shows a setting that is not honoured."""
        as_objects = self.configuration.get(JSON_STORAGE_SETTING, "").strip().lower() == JSON_AS_OBJECT
        problems = []
        for name, col in table.columns.items():
            if col.type != "JSON":
                continue
            expected = "object" if as_objects and not col.primary_key else "text"
            if kinds[name] != expected:
                setting = f"{JSON_STORAGE_SETTING} {'object' if as_objects else 'text'}"
                problems.append(
                    f"{table.name}: JSON column {name!r} is {kinds[name]!r} in CrateDB, expected "
                    f"{expected!r} ({setting}{', a key column' if col.primary_key else ''})"
                )
        return problems

    def drop_schema(self, schema: str) -> None:
        """Remove a file's tables and, best effort, the destination's type records for them."""
        with contextlib.suppress(Exception):
            self._reader.drop_schema_tables(schema)
        with contextlib.suppress(Exception):  # the destination's type records, when it keeps them there
            self._reader.execute(f'DELETE FROM {METADATA_TABLE.sql} WHERE "schema_name" = ?', [schema])


def _tables_named(call: Call) -> set[str]:
    if isinstance(call, MigrateCall):
        return {call.table} | {str(call.fields[k]) for k in ("from_table", "to_table") if k in call.fields}
    return {call.table}


def _request_subject(rpc: str, request: Any) -> str:
    """What a request works on, for messages: "schema.table", after the operation for Migrate."""
    if rpc == "Migrate":
        details = request.details
        operation = details.WhichOneof("operation")
        return f"{operation} {details.schema}.{details.table}"
    table = getattr(request, "table_name", "") or request.table.name
    return f"{request.schema_name}.{table}"


def _error_text(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    return f"{getattr(code, 'name', code)}: {details}"


def _run_id() -> str:
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(6))


def _slug(stem: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_") or "scenario"


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """Files named on the command line, and the *.json files of named folders in alphabetical order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.glob("*.json") if p.name != "configuration.json")
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such scenario file or folder: {path}")
    return found


# --------------------------------------------------------------------------------------------------------
# Process: destination and CrateDB, command line


@contextlib.contextmanager
def local_services(
    cratedb_url: str | None, destination: str | None, parquet: bool = False
) -> Iterator[tuple[str, str]]:
    """(destination address, CrateDB URL): the given ones, else an in-process server and/or emulator."""
    with contextlib.ExitStack() as stack:
        if cratedb_url is None:
            from cratedb_emulator import Emulator

            emulator = Emulator(host="127.0.0.1", port=0)
            emulator.start()
            stack.callback(emulator.stop)
            cratedb_url = str(emulator.url)
        if destination is None:
            from cratedb_destination.server import start_server
            from cratedb_destination.settings import ServerSettings

            settings = ServerSettings(batch_file_format="parquet" if parquet else "csv")
            server, port = start_server(host="127.0.0.1", port=0, settings=settings)
            stack.callback(server.stop, None)
            destination = f"127.0.0.1:{port}"
        yield destination, cratedb_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fivetran-e2e scenarios",
        description="Run destination-tester scenario files (a folder runs its *.json in alphabetical order) "
        "against the CrateDB destination and compare CrateDB with the reference model. "
        "Exit code 0 only if every file matches.",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="scenario files or folders")
    parser.add_argument(
        "--cratedb-url",
        help="CrateDB to use, e.g. http://crate@localhost:4200 "
        "(default: $CRATEDB_URL, else the embedded emulator)",
    )
    parser.add_argument(
        "--destination", metavar="HOST:PORT", help="a running destination (needs --cratedb-url to check it)"
    )
    parser.add_argument("--schema-name", default="tester", help="schema name prefix (default: %(default)s)")
    parser.add_argument(
        "--plain-text", action="store_true", help="batch files without compression/encryption"
    )
    parser.add_argument("--batch-file-type", choices=("CSV", "PARQUET"), default="CSV", type=str.upper)
    parser.add_argument("--report", type=Path, help="write a JSON report of every file to this path")
    parser.add_argument("--keep", action="store_true", help="keep the schemas the files wrote")
    parser.add_argument(
        "--configuration", type=Path, help='configuration.json for the destination (default: {"url": ...})'
    )
    add_destination_setting_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    files = scenario_files(args.paths)
    configuration = json.loads(args.configuration.read_text()) if args.configuration else None
    settings = destination_settings(build_parser(), args.destination_setting)
    parquet = args.batch_file_type == "PARQUET"
    results: list[FileResult] = []
    cratedb_url = args.cratedb_url or os.environ.get("CRATEDB_URL", "").strip() or None
    with local_services(cratedb_url, args.destination, parquet) as (address, url):
        if settings:
            configuration = {**(configuration or {"url": url}), **settings}
        runner = ScenarioRunner(
            address,
            url,
            schema_name=args.schema_name,
            plain_text=args.plain_text,
            parquet=parquet,
            keep=args.keep,
            configuration=configuration,
        )
        with runner:
            runner.wait_ready()
            try:
                failures = runner.setup_tests()
            except Unsupported as error:
                print(f"setup tests skipped: {error}")
                failures = []
            for failure in failures:
                print(f"setup test failed: {failure}")
            if failures:
                return 1
            for path in files:
                result = runner.run_file(path)
                results.append(result)
                _print_result(result)
    _print_summary(results)
    if args.report:
        report = {"results": [r.to_json() for r in results]}
        args.report.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if results and all(r.status is Status.PASS for r in results) else 1


def _print_result(result: FileResult) -> None:
    calls = sum(result.rpcs.values())
    print(
        f"{result.status.value.upper():<27} {result.file}  ({calls} RPCs, {result.seconds:.2f} s)", flush=True
    )
    for line in result.problems[:20] + result.warnings[:5]:
        print(f"    {line}")
    if len(result.problems) > 20:
        print(f"    ... and {len(result.problems) - 20} more differences")
    for line in result.notes[:10]:
        print(f"    note: {line}")
    if len(result.notes) > 10:
        print(f"    ... and {len(result.notes) - 10} more notes")


def _print_summary(results: Sequence[FileResult]) -> None:
    counts = Counter(r.status for r in results)
    parts = [f"{counts[s]} {s.value}" for s in Status if counts[s]]
    print(f"{len(results)} scenario files: {', '.join(parts) or 'none run'}")


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.destination and not (args.cratedb_url or os.environ.get("CRATEDB_URL", "").strip()):
        parser.error("--destination needs --cratedb-url: the runner reads CrateDB to check the results")
    try:
        return run(args)
    except FileNotFoundError as error:
        print(f"fivetran-e2e scenarios: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
