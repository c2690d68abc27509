"""gRPC entry points of the destination: one thin method per RPC of `fivetran_sdk.v2.DestinationConnector`.

Every RPC that works on tables is declared with `table_rpc` (or its shorthands `on_table` and
`on_defined_table`), which does the shared part once: parse the configuration, lock the tables involved,
check the server version, lend a session, turn failures into a Task or a gRPC status (`errors.answer`; an
unreadable batch file is a Task) and log the outcome. The method itself only turns the request into a
service call and the result into a response.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import grpc
from fivetran_proto import common_pb2, destination_sdk_pb2
from fivetran_proto import destination_sdk_pb2_grpc as grpc_api

from cratedb_destination import memory
from cratedb_destination.batch import BatchFileError, FileFormat
from cratedb_destination.client import ClientCache, CrateClient, Session
from cratedb_destination.config import (
    DEFAULT_METADATA_SCHEMA,
    LEGACY_METADATA_SCHEMA,
    TEST_CONNECT,
    TEST_PERMISSIONS,
    ConnectionSettings,
    configuration_form,
    parse_configuration,
)
from cratedb_destination.domain import FileKind, TableSchema
from cratedb_destination.errors import (
    CrateDBError,
    InvalidRequest,
    TransientFailure,
    UserActionRequired,
    answer,
)
from cratedb_destination.metadata import METADATA_TABLE, MetadataStore
from cratedb_destination.services import history, migrate, schema, truncate, writes
from cratedb_destination.services import migrate_ops as ops
from cratedb_destination.services.locks import TableLocks
from cratedb_destination.settings import ServerSettings
from cratedb_destination.sql import ddl, dml
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.table_settings import TableSettings
from cratedb_destination.type_mapping import INT, STRING, ColumnSpec, FivetranType

log = logging.getLogger(__name__)

pb = destination_sdk_pb2

_BATCH_FILE_FORMATS = {"csv": pb.CSV, "parquet": pb.PARQUET}

Request = Any
Response = TypeVar("Response")


@dataclass(frozen=True)
class Call:
    """What a table RPC works with: the parsed configuration, one session, the column-type records."""

    settings: ConnectionSettings
    session: Session
    metadata: MetadataStore


Body = Callable[["DestinationServicer", Request, Call], Response]
Handler = Callable[["DestinationServicer", Request, grpc.ServicerContext], Response]


def table_rpc(
    response_type: Callable[..., Response],
    operation: Callable[[Request], str],
    tables: Callable[[Request], Sequence[TableRef]],
    early: Callable[[Request], Response | None] = lambda request: None,
    decode: Callable[[Request], Any] = lambda request: request,
) -> Callable[[Body[Response]], Handler[Response]]:
    """Wrap an RPC body with the shared part (see the module docstring).

    `decode` turns the request, once, into what the other arguments and the body receive (by default the
    request itself); it must not fail. `operation` describes the RPC for messages ("create table s.t");
    `tables` names the tables to lock; `early` may answer before any connection is made (`unsupported`).
    """

    def decorate(body: Body[Response]) -> Handler[Response]:
        @functools.wraps(body)
        def handler(self: DestinationServicer, request: Request, context: grpc.ServicerContext) -> Response:
            decoded = decode(request)
            what = operation(decoded)
            started = time.monotonic()

            def work() -> Response:
                response = early(decoded)
                if response is not None:
                    return response
                try:
                    with self._call(request.configuration, tables(decoded)) as call:
                        return body(self, decoded, call)
                except BatchFileError as exc:
                    raise UserActionRequired(str(exc)) from None

            response = answer(context, what, response_type, work)
            outcome = response.WhichOneof("response")  # type: ignore[attr-defined]
            if outcome != "task":  # failures were logged by `answer`
                log.info("%s: %s in %.2f s", what, outcome, time.monotonic() - started)
            return response

        return handler

    return decorate


def _table(request: Request) -> list[TableRef]:
    """The table of a request that names it by schema_name and table_name."""
    return [TableRef(request.schema_name, request.table_name)]


def _defined_table(request: Request) -> list[TableRef]:
    """The table of a request that carries its definition."""
    return [TableRef(request.schema_name, request.table.name)]


def on_table(
    response_type: Callable[..., Response], verb: str
) -> Callable[[Body[Response]], Handler[Response]]:
    """`table_rpc` for a request naming one table by schema_name and table_name."""
    return table_rpc(response_type, lambda r: f"{verb} table {r.schema_name}.{r.table_name}", _table)


def on_defined_table(
    response_type: Callable[..., Response], verb: str
) -> Callable[[Body[Response]], Handler[Response]]:
    """`table_rpc` for a request carrying one table's definition."""
    return table_rpc(response_type, lambda r: f"{verb} table {r.schema_name}.{r.table.name}", _defined_table)


class DestinationServicer(grpc_api.DestinationConnectorServicer):
    """Implements the destination protocol on top of CrateDB. Thread-safe: RPCs may run concurrently."""

    def __init__(self, settings: ServerSettings | None = None) -> None:
        self.settings = settings or ServerSettings()
        self.clients = ClientCache()
        self.locks = TableLocks()
        self._metadata: dict[tuple[str, str], MetadataStore] = {}

    def close(self) -> None:
        self.clients.close()

    # -- shared plumbing ---------------------------------------------------------------------------------

    def _metadata_store(self, settings: ConnectionSettings) -> MetadataStore:
        key = (settings.url, settings.metadata_schema)
        store = self._metadata.get(key)
        if store is None:
            legacy = LEGACY_METADATA_SCHEMA if settings.metadata_schema == DEFAULT_METADATA_SCHEMA else None
            # The metadata table is created with the configured shards and replicas (never partitioned).
            table = settings.table_settings.for_table(TableRef(settings.metadata_schema, METADATA_TABLE))
            store = self._metadata.setdefault(key, MetadataStore(settings.metadata_schema, legacy, table))
        return store

    @contextlib.contextmanager
    def _call(self, configuration: Any, tables: Sequence[TableRef]) -> Iterator[Call]:
        """A session on the configured cluster, holding the tables' locks for the whole RPC.

        Several tables are locked in ascending name order, so that two RPCs cannot deadlock.
        """
        settings = parse_configuration(configuration)
        client = self.clients.get(settings)
        with contextlib.ExitStack() as stack:
            for ref in sorted(set(tables), key=str):
                stack.enter_context(self.locks.hold(settings.url, ref.schema, ref.table))
            client.check_server_version()
            session = stack.enter_context(client.session())
            yield Call(settings, session, self._metadata_store(settings))

    def _batch(self, request: Request, call: Call) -> writes.BatchRequest:
        """A WriteBatch or WriteHistoryBatch request as the write services take it."""
        try:
            fmt = FileFormat.from_proto(request.file_params, self.settings.batch_file_format)
        except ValueError as exc:
            raise InvalidRequest(f"invalid file_params: {exc}") from None
        return writes.BatchRequest(
            TableSchema.from_proto(request.schema_name, request.table),
            fmt,
            request.keys,
            {kind: list(getattr(request, kind.request_field, ())) for kind in FileKind},
            writes.WriteOptions(
                batch_rows=call.settings.batch_rows, max_request_bytes=call.settings.batch_bytes
            ),
        )

    # -- RPCs without tables -----------------------------------------------------------------------------

    def Capabilities(
        self, request: pb.CapabilitiesRequest, context: grpc.ServicerContext
    ) -> pb.CapabilitiesResponse:
        return pb.CapabilitiesResponse(batch_file_format=_BATCH_FILE_FORMATS[self.settings.batch_file_format])

    def ConfigurationForm(
        self, request: common_pb2.ConfigurationFormRequest, context: grpc.ServicerContext
    ) -> common_pb2.ConfigurationFormResponse:
        return configuration_form()

    def Test(self, request: common_pb2.TestRequest, context: grpc.ServicerContext) -> common_pb2.TestResponse:
        try:
            settings = parse_configuration(request.configuration)
        except UserActionRequired as exc:
            return common_pb2.TestResponse(failure=f"Invalid configuration: {exc}")
        # A setup test should answer quickly: one retry, a short budget, a private client.
        client = CrateClient(replace(settings, max_retries=1, retry_seconds=5.0), pool_size=1)
        try:
            if request.name == TEST_CONNECT:
                version = client.check_server_version()
                log.info("test %s passed: CrateDB %s", request.name, ".".join(map(str, version)))
            elif request.name == TEST_PERMISSIONS:
                client.check_server_version()
                _probe_permissions(client, self._metadata_store(settings), settings.table_settings.defaults)
                log.info("test %s passed", request.name)
            else:
                return common_pb2.TestResponse(failure=f"Unknown test {request.name!r}")
        except TransientFailure as exc:
            return common_pb2.TestResponse(
                failure=f"Cannot reach CrateDB at {settings.url}: {exc}. Check the URL or host and port, the "
                "TLS setting, and that this network may connect to the cluster."
            )
        except CrateDBError as exc:
            return common_pb2.TestResponse(
                failure=f"CrateDB at {settings.url} refused the {request.name} test: {exc}. Check the user "
                "name and password, and that the user may create, write, read and drop tables "
                "(privileges DDL, DML and DQL)."
            )
        except UserActionRequired as exc:
            return common_pb2.TestResponse(failure=str(exc))
        finally:
            client.close()
        return common_pb2.TestResponse(success=True)

    # -- table RPCs --------------------------------------------------------------------------------------

    @on_table(pb.DescribeTableResponse, "describe")
    def DescribeTable(self, request: pb.DescribeTableRequest, call: Call) -> pb.DescribeTableResponse:
        table = schema.describe(call.session, call.metadata, _table(request)[0])
        if table is None:
            return pb.DescribeTableResponse(not_found=True)
        return pb.DescribeTableResponse(table=table.to_proto())

    @on_defined_table(pb.CreateTableResponse, "create")
    def CreateTable(self, request: pb.CreateTableRequest, call: Call) -> pb.CreateTableResponse:
        table = TableSchema.from_proto(request.schema_name, request.table)
        settings = call.settings
        schema.create(
            call.session,
            call.metadata,
            table.with_json_storage(settings.json_storage),
            settings.table_settings.for_table(table.ref),
        )
        return pb.CreateTableResponse(success=True)

    @on_defined_table(pb.AlterTableResponse, "alter")
    def AlterTable(self, request: pb.AlterTableRequest, call: Call) -> pb.AlterTableResponse:
        table = TableSchema.from_proto(request.schema_name, request.table)
        desired = table.with_json_storage(call.settings.json_storage)
        schema.alter(call.session, call.metadata, desired, request.drop_columns)
        return pb.AlterTableResponse(success=True)

    @on_table(pb.TruncateResponse, "truncate")
    def Truncate(self, request: pb.TruncateRequest, call: Call) -> pb.TruncateResponse:
        if not request.synced_column:
            raise InvalidRequest("the request names no synced_column")
        if not request.HasField("utc_delete_before"):
            raise InvalidRequest("the request carries no utc_delete_before")
        cutoff = truncate.cutoff_text(request.utc_delete_before.seconds, request.utc_delete_before.nanos)
        deleted = request.soft.deleted_column if request.HasField("soft") else None
        if deleted == "":
            raise InvalidRequest("soft truncate without a deleted_column")
        ref = _table(request)[0]
        warning = truncate.truncate(call.session, ref, request.synced_column, cutoff, deleted)
        if warning:
            return pb.TruncateResponse(warning=common_pb2.Warning(message=warning))
        return pb.TruncateResponse(success=True)

    @on_defined_table(pb.WriteBatchResponse, "write batch to")
    def WriteBatch(self, request: pb.WriteBatchRequest, call: Call) -> pb.WriteBatchResponse:
        try:
            writes.write_batch(call.session, call.metadata, self._batch(request, call))
        finally:
            memory.release()  # a batch leaves MiBs of free heap behind; give them back
        return pb.WriteBatchResponse(success=True)

    @on_defined_table(pb.WriteBatchResponse, "write history batch to")
    def WriteHistoryBatch(self, request: pb.WriteHistoryBatchRequest, call: Call) -> pb.WriteBatchResponse:
        try:
            history.write_history_batch(call.session, call.metadata, self._batch(request, call))
        finally:
            memory.release()
        return pb.WriteBatchResponse(success=True)

    @table_rpc(
        pb.MigrateResponse,
        lambda op: f"migrate ({op.name}) table {op.schema}.{op.table}",
        lambda op: op.tables(),
        early=lambda op: (
            pb.MigrateResponse(unsupported=True)
            if isinstance(op, ops.UnsupportedSyncMode) and op.early
            else None
        ),
        decode=lambda request: ops.decode(request.details),
    )
    def Migrate(self, operation: ops.Operation, call: Call) -> pb.MigrateResponse:
        """`operation` is the request decoded by `table_rpc` (see `migrate_ops`)."""
        settings = call.settings
        creation = migrate.Creation(settings.table_settings, settings.json_storage)
        outcome = migrate.migrate(call.session, call.metadata, operation, creation)
        if outcome.unsupported:
            return pb.MigrateResponse(unsupported=True)
        if outcome.warning:
            return pb.MigrateResponse(warning=common_pb2.Warning(message=outcome.warning))
        return pb.MigrateResponse(success=True)


def _probe_permissions(client: CrateClient, metadata: MetadataStore, settings: TableSettings) -> None:
    """Create, write, read back and drop a probe table in a fresh schema, as syncs will do, with the
    configured shards and replicas (so that CrateDB's acceptance of them is tested too)."""
    probe = TableRef(f"fivetran_probe_{uuid.uuid4().hex[:12]}", "probe")
    columns = [
        ColumnSpec("id", FivetranType(INT), primary_key=True),
        ColumnSpec("value", FivetranType(STRING)),
    ]
    with client.session() as session:
        session.execute(ddl.create_table(probe, columns, settings=settings.without_partitioning()))
        try:
            session.bulk(dml.upsert(probe, ["id", "value"], ["id"]), [[1, "probe"]])
            rows = session.query(dml.select_by_key(probe, ["value"], ["id"]), [1])
            if rows != [["probe"]]:
                raise UserActionRequired(f"the probe row written to {probe} could not be read back")
            session.refresh(probe)
            session.bulk(dml.delete_by_key(probe, ["id"]), [[1]])
        finally:
            session.execute(ddl.drop_table(probe))
        # The destination also keeps column types in the metadata schema: it must be writable too.
        metadata.ensure_writable(session)
