"""gRPC entry points of the destination: one thin method per RPC of `fivetran_sdk.v2.DestinationConnector`.

Each method parses the request, calls a service and builds the response; `errors.answer` turns failures
into a Task or a gRPC status. RPCs that are not built yet answer with status UNIMPLEMENTED naming the RPC,
so Fivetran (or the tester) sees an honest error instead of a success that did nothing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, NoReturn

import grpc
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc

from cratedb_destination.batch import BatchFileError, FileFormat
from cratedb_destination.client import ClientCache, CrateClient, Session
from cratedb_destination.config import (
    TEST_CONNECT,
    TEST_PERMISSIONS,
    ConnectionSettings,
    configuration_form,
    parse_configuration,
)
from cratedb_destination.errors import (
    CrateDBError,
    InvalidRequest,
    TransientFailure,
    UserActionRequired,
    answer,
)
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.services import history, migrate, schema, truncate, writes
from cratedb_destination.services.locks import TableLocks
from cratedb_destination.settings import ServerSettings
from cratedb_destination.sql import ddl, dml
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import INT, STRING, ColumnSpec, FivetranType

log = logging.getLogger(__name__)

_BATCH_FILE_FORMATS = {
    "csv": destination_sdk_pb2.CSV,
    "parquet": destination_sdk_pb2.PARQUET,
}


def _unimplemented(context: grpc.ServicerContext, rpc: str) -> NoReturn:
    context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{rpc} is not implemented by the CrateDB destination yet")
    raise AssertionError("grpc.ServicerContext.abort returned")  # abort always raises


class DestinationServicer(destination_sdk_pb2_grpc.DestinationConnectorServicer):
    """Implements the destination protocol on top of CrateDB. Thread-safe: RPCs may run concurrently."""

    def __init__(self, settings: ServerSettings | None = None) -> None:
        self.settings = settings or ServerSettings()
        self.clients = ClientCache()
        self.locks = TableLocks()
        self._metadata: dict[tuple[str, str], MetadataStore] = {}

    # -- shared plumbing ---------------------------------------------------------------------------------

    def _metadata_store(self, settings: ConnectionSettings) -> MetadataStore:
        key = (settings.url, settings.metadata_schema)
        store = self._metadata.get(key)
        if store is None:
            store = self._metadata.setdefault(key, MetadataStore(settings.metadata_schema))
        return store

    @contextlib.contextmanager
    def _table_session(
        self, configuration: Any, ref: TableRef
    ) -> Iterator[tuple[Session, MetadataStore, ConnectionSettings]]:
        """A session on the configured cluster, holding the table's lock for the whole RPC."""
        settings = parse_configuration(configuration)
        client = self.clients.get(settings)
        with self.locks.hold(settings.url, ref.schema, ref.table):
            client.check_server_version()
            with client.session() as session:
                yield session, self._metadata_store(settings), settings

    def close(self) -> None:
        self.clients.close()

    # -- RPCs --------------------------------------------------------------------------------------------

    def Capabilities(
        self, request: destination_sdk_pb2.CapabilitiesRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.CapabilitiesResponse:
        return destination_sdk_pb2.CapabilitiesResponse(
            batch_file_format=_BATCH_FILE_FORMATS[self.settings.batch_file_format]
        )

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
                _probe_permissions(client, self._metadata_store(settings))
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

    def DescribeTable(
        self, request: destination_sdk_pb2.DescribeTableRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.DescribeTableResponse:
        def work() -> Any:
            ref = TableRef(request.schema_name, request.table_name)
            with self._table_session(request.configuration, ref) as (session, metadata, _):
                table = schema.describe(session, metadata, ref)
            if table is None:
                return destination_sdk_pb2.DescribeTableResponse(not_found=True)
            return destination_sdk_pb2.DescribeTableResponse(table=table.to_proto())

        what = f"describe table {request.schema_name}.{request.table_name}"
        return answer(context, what, destination_sdk_pb2.DescribeTableResponse, work)

    def CreateTable(
        self, request: destination_sdk_pb2.CreateTableRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.CreateTableResponse:
        def work() -> Any:
            table = schema.TableSchema.from_proto(request.schema_name, request.table)
            with self._table_session(request.configuration, table.ref) as (session, metadata, _):
                schema.create(session, metadata, table)
            return destination_sdk_pb2.CreateTableResponse(success=True)

        what = f"create table {request.schema_name}.{request.table.name}"
        return answer(context, what, destination_sdk_pb2.CreateTableResponse, work)

    def AlterTable(
        self, request: destination_sdk_pb2.AlterTableRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.AlterTableResponse:
        def work() -> Any:
            table = schema.TableSchema.from_proto(request.schema_name, request.table)
            with self._table_session(request.configuration, table.ref) as (session, metadata, _):
                schema.alter(session, metadata, table, request.drop_columns)
            return destination_sdk_pb2.AlterTableResponse(success=True)

        what = f"alter table {request.schema_name}.{request.table.name}"
        return answer(context, what, destination_sdk_pb2.AlterTableResponse, work)

    def Truncate(
        self, request: destination_sdk_pb2.TruncateRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.TruncateResponse:
        def work() -> Any:
            ref = TableRef(request.schema_name, request.table_name)
            if not request.synced_column:
                raise InvalidRequest("the request names no synced_column")
            if not request.HasField("utc_delete_before"):
                raise InvalidRequest("the request carries no utc_delete_before")
            cutoff = truncate.cutoff_text(request.utc_delete_before.seconds, request.utc_delete_before.nanos)
            deleted = request.soft.deleted_column if request.HasField("soft") else None
            if deleted == "":
                raise InvalidRequest("soft truncate without a deleted_column")
            with self._table_session(request.configuration, ref) as (session, _, _settings):
                warning = truncate.truncate(session, ref, request.synced_column, cutoff, deleted)
            if warning:
                return destination_sdk_pb2.TruncateResponse(warning=common_pb2.Warning(message=warning))
            return destination_sdk_pb2.TruncateResponse(success=True)

        what = f"truncate table {request.schema_name}.{request.table_name}"
        return answer(context, what, destination_sdk_pb2.TruncateResponse, work)

    def WriteBatch(
        self, request: destination_sdk_pb2.WriteBatchRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.WriteBatchResponse:
        def work() -> Any:
            table = schema.TableSchema.from_proto(request.schema_name, request.table)
            fmt = _file_format(request.file_params, self.settings.batch_file_format)
            with self._table_session(request.configuration, table.ref) as (session, _, settings):
                options = writes.WriteOptions(batch_rows=settings.batch_rows)
                writes.write_batch(
                    session,
                    table,
                    fmt,
                    request.keys,
                    list(request.replace_files),
                    list(request.update_files),
                    list(request.delete_files),
                    options,
                )
            return destination_sdk_pb2.WriteBatchResponse(success=True)

        what = f"write batch to table {request.schema_name}.{request.table.name}"
        return _with_batch_errors(context, what, destination_sdk_pb2.WriteBatchResponse, work)

    def WriteHistoryBatch(
        self, request: destination_sdk_pb2.WriteHistoryBatchRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.WriteBatchResponse:
        def work() -> Any:
            table = schema.TableSchema.from_proto(request.schema_name, request.table)
            fmt = _file_format(request.file_params, self.settings.batch_file_format)
            with self._table_session(request.configuration, table.ref) as (session, _, settings):
                history.write_history_batch(
                    session,
                    table,
                    fmt,
                    request.keys,
                    list(request.earliest_start_files),
                    list(request.replace_files),
                    list(request.update_files),
                    list(request.delete_files),
                    writes.WriteOptions(batch_rows=settings.batch_rows),
                )
            return destination_sdk_pb2.WriteBatchResponse(success=True)

        what = f"write history batch to table {request.schema_name}.{request.table.name}"
        return _with_batch_errors(context, what, destination_sdk_pb2.WriteBatchResponse, work)

    def Migrate(
        self, request: destination_sdk_pb2.MigrateRequest, context: grpc.ServicerContext
    ) -> destination_sdk_pb2.MigrateResponse:
        details = request.details

        def work() -> Any:
            if migrate.is_unsupported(details):
                return destination_sdk_pb2.MigrateResponse(unsupported=True)
            main, *others = migrate.tables_involved(details)
            url = parse_configuration(request.configuration).url
            # Several tables are locked in ascending name order, so that two migrations cannot deadlock.
            with contextlib.ExitStack() as stack:
                for ref in sorted((ref for ref in others if str(ref) < str(main)), key=str):
                    stack.enter_context(self.locks.hold(url, ref.schema, ref.table))
                session, metadata, _ = stack.enter_context(self._table_session(request.configuration, main))
                for ref in sorted((ref for ref in others if str(ref) > str(main)), key=str):
                    stack.enter_context(self.locks.hold(url, ref.schema, ref.table))
                outcome = migrate.migrate(session, metadata, details)
            if outcome.unsupported:
                return destination_sdk_pb2.MigrateResponse(unsupported=True)
            if outcome.warning:
                warning = common_pb2.Warning(message=outcome.warning)
                return destination_sdk_pb2.MigrateResponse(warning=warning)
            return destination_sdk_pb2.MigrateResponse(success=True)

        what = f"migrate ({migrate.operation_name(details)}) table {details.schema}.{details.table}"
        return answer(context, what, destination_sdk_pb2.MigrateResponse, work)


def _file_format(file_params: Any, kind: str) -> FileFormat:
    try:
        return FileFormat.from_proto(file_params, kind)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidRequest(f"invalid file_params: {exc}") from None


def _with_batch_errors(
    context: grpc.ServicerContext, operation: str, response_type: Callable[..., Any], work: Callable[[], Any]
) -> Any:
    """`answer`, plus: an unreadable batch file is something the customer sees as a Task."""

    def guarded() -> Any:
        try:
            return work()
        except BatchFileError as exc:
            raise UserActionRequired(str(exc)) from None

    return answer(context, operation, response_type, guarded)


def _probe_permissions(client: CrateClient, metadata: MetadataStore) -> None:
    """Create, write, read back and drop a probe table in a fresh schema, as syncs will do."""
    probe = TableRef(f"fivetran_probe_{uuid.uuid4().hex[:12]}", "probe")
    columns = [
        ColumnSpec("id", FivetranType(INT), primary_key=True),
        ColumnSpec("value", FivetranType(STRING)),
    ]
    with client.session() as session:
        session.execute(ddl.create_table(probe, columns))
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
