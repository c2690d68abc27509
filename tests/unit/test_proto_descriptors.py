"""The compiled protocol matches Fivetran's partner SDK v2 field by field (wire compatibility).

The expectations below are written by hand from the protocol reference, in the reference's own notation
(`opt` = proto3 optional, `rep` = repeated, `oneof X:` = member of oneof X), and compared with the
FileDescriptorProto embedded in each generated module. They are not derived from the generated code.
"""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from fivetran_proto import common_pb2, connector_sdk_pb2, destination_sdk_pb2
from google.protobuf import descriptor_pb2

FieldDescriptor = descriptor_pb2.FieldDescriptorProto

COMMON_MESSAGES: dict[str, list[str]] = {
    "ConfigurationFormRequest": [],
    "ConfigurationFormResponse": [
        "bool schema_selection_supported = 1",
        "bool table_selection_supported = 2",
        "rep FormField fields = 3",
        "rep ConfigurationTest tests = 4",
    ],
    "FormField": [
        "string name = 1",
        "string label = 2",
        "opt bool required = 3",
        "opt string description = 4",
        "oneof type: TextField text_field = 5",
        "oneof type: DropdownField dropdown_field = 6",
        "oneof type: ToggleField toggle_field = 7",
        "opt string default_value = 8",
        "opt string placeholder = 9",
        "oneof type: ConditionalFields conditional_fields = 10",
        "oneof type: UploadField upload_field = 11",
        "oneof type: DescriptiveDropDownFields descriptive_dropdown_fields = 12",
    ],
    "UploadField": ["rep string allowed_file_type = 1", "int32 max_file_size_bytes = 2"],
    "DescriptiveDropDownFields": ["rep DescriptiveDropDownField descriptive_dropdown_field = 1"],
    "DescriptiveDropDownField": ["string value = 1", "string label = 2", "string description = 3"],
    "ConditionalFields": ["VisibilityCondition condition = 1", "rep FormField fields = 2"],
    "VisibilityCondition": [
        "string condition_field = 1",
        "oneof visible_when: bool bool_value = 2",
        "oneof visible_when: string string_value = 3",
        "oneof visible_when: bool empty_value = 4",
    ],
    "DropdownField": ["rep string dropdown_field = 1"],
    "ToggleField": [],
    "ConfigurationTest": ["string name = 1", "string label = 2"],
    "TestRequest": ["string name = 1", "map<string,string> configuration = 2"],
    "TestResponse": ["oneof response: bool success = 1", "oneof response: string failure = 2"],
    "SchemaList": ["rep Schema schemas = 1"],
    "TableList": ["rep Table tables = 1"],
    "Schema": ["string name = 1", "rep Table tables = 2"],
    "DataTypeParams": [
        "oneof params: DecimalParams decimal = 1",
        "oneof params: int32 string_byte_length = 2",
    ],
    "DecimalParams": ["uint32 precision = 1", "uint32 scale = 2"],
    "ValueType": [
        "oneof inner: bool null = 1",
        "oneof inner: bool bool = 2",
        "oneof inner: int32 short = 3",
        "oneof inner: int32 int = 4",
        "oneof inner: int64 long = 5",
        "oneof inner: float float = 6",
        "oneof inner: double double = 7",
        "oneof inner: Timestamp naive_date = 8",
        "oneof inner: Timestamp naive_datetime = 9",
        "oneof inner: Timestamp utc_datetime = 10",
        "oneof inner: string decimal = 11",
        "oneof inner: bytes binary = 12",
        "oneof inner: string string = 13",
        "oneof inner: string json = 14",
        "oneof inner: string xml = 15",
        "oneof inner: Timestamp naive_time = 16",
    ],
    "Table": ["string name = 1", "rep Column columns = 2"],
    "Column": [
        "string name = 1",
        "DataType type = 2",
        "bool primary_key = 3",
        "opt DataTypeParams params = 4",
    ],
    "Warning": ["string message = 1"],
    "Task": ["string message = 1"],
}

COMMON_ENUMS: dict[str, list[str]] = {
    "TextField": ["PlainText = 0", "Password = 1", "Hidden = 2"],
    "DataType": [
        "UNSPECIFIED = 0",
        "BOOLEAN = 1",
        "SHORT = 2",
        "INT = 3",
        "LONG = 4",
        "DECIMAL = 5",
        "FLOAT = 6",
        "DOUBLE = 7",
        "NAIVE_DATE = 8",
        "NAIVE_DATETIME = 9",
        "UTC_DATETIME = 10",
        "BINARY = 11",
        "XML = 12",
        "STRING = 13",
        "JSON = 14",
        "NAIVE_TIME = 15",
    ],
    "RecordType": ["UPSERT = 0", "UPDATE = 1", "DELETE = 2", "TRUNCATE = 3"],
}

_RESPONSE_SUCCESS_WARNING_TASK = [
    "oneof response: bool success = 1",
    "oneof response: Warning warning = 2",
    "oneof response: Task task = 3",
]

DESTINATION_MESSAGES: dict[str, list[str]] = {
    "CapabilitiesRequest": [],
    "CapabilitiesResponse": ["BatchFileFormat batch_file_format = 1"],
    "DescribeTableRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "string table_name = 3",
    ],
    "DescribeTableResponse": [
        "oneof response: bool not_found = 1",
        "oneof response: Table table = 2",
        "oneof response: Warning warning = 3",
        "oneof response: Task task = 4",
    ],
    "CreateTableRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "Table table = 3",
    ],
    "CreateTableResponse": _RESPONSE_SUCCESS_WARNING_TASK,
    "AlterTableRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "Table table = 3",
        "bool drop_columns = 4",
    ],
    "AlterTableResponse": _RESPONSE_SUCCESS_WARNING_TASK,
    "TruncateRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "string table_name = 3",
        "string synced_column = 4",
        "Timestamp utc_delete_before = 5",
        "opt SoftTruncate soft = 6",
    ],
    "SoftTruncate": ["string deleted_column = 1"],
    "TruncateResponse": _RESPONSE_SUCCESS_WARNING_TASK,
    "WriteBatchRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "Table table = 3",
        "map<string,bytes> keys = 4",
        "rep string replace_files = 5",
        "rep string update_files = 6",
        "rep string delete_files = 7",
        "FileParams file_params = 8",
    ],
    "WriteHistoryBatchRequest": [
        "map<string,string> configuration = 1",
        "string schema_name = 2",
        "Table table = 3",
        "map<string,bytes> keys = 4",
        "rep string earliest_start_files = 5",
        "rep string replace_files = 6",
        "rep string update_files = 7",
        "rep string delete_files = 8",
        "FileParams file_params = 9",
    ],
    "FileParams": [
        "Compression compression = 1",
        "Encryption encryption = 2",
        "string null_string = 3",
        "string unmodified_string = 4",
    ],
    "WriteBatchResponse": _RESPONSE_SUCCESS_WARNING_TASK,
    "MigrateRequest": ["map<string,string> configuration = 1", "MigrationDetails details = 2"],
    "MigrateResponse": [
        "oneof response: bool success = 1",
        "oneof response: bool unsupported = 2",
        "oneof response: Warning warning = 3",
        "oneof response: Task task = 4",
    ],
    "MigrationDetails": [
        "string schema = 1",
        "string table = 2",
        "oneof operation: DropOperation drop = 3",
        "oneof operation: CopyOperation copy = 4",
        "oneof operation: RenameOperation rename = 5",
        "oneof operation: AddOperation add = 6",
        "oneof operation: UpdateColumnValueOperation update_column_value = 7",
        "oneof operation: TableSyncModeMigrationOperation table_sync_mode_migration = 8",
    ],
    "DropOperation": [
        "oneof entity: bool drop_table = 1",
        "oneof entity: DropColumnInHistoryMode drop_column_in_history_mode = 2",
    ],
    "DropColumnInHistoryMode": ["string column = 1", "string operation_timestamp = 2"],
    "CopyOperation": [
        "oneof entity: CopyTable copy_table = 1",
        "oneof entity: CopyColumn copy_column = 2",
        "oneof entity: CopyTableToHistoryMode copy_table_to_history_mode = 3",
    ],
    "CopyTable": ["string from_table = 1", "string to_table = 2"],
    "CopyColumn": ["string from_column = 1", "string to_column = 2"],
    "CopyTableToHistoryMode": [
        "string from_table = 1",
        "string to_table = 2",
        "string soft_deleted_column = 3",
    ],
    "RenameOperation": [
        "oneof entity: RenameTable rename_table = 1",
        "oneof entity: RenameColumn rename_column = 2",
    ],
    "RenameTable": ["string from_table = 1", "string to_table = 2"],
    "RenameColumn": ["string from_column = 1", "string to_column = 2"],
    "AddOperation": [
        "oneof entity: AddColumnInHistoryMode add_column_in_history_mode = 1",
        "oneof entity: AddColumnWithDefaultValue add_column_with_default_value = 2",
    ],
    "AddColumnWithDefaultValue": [
        "string column = 1",
        "DataType column_type = 2",
        "string default_value = 3",
    ],
    "AddColumnInHistoryMode": [
        "string column = 1",
        "DataType column_type = 2",
        "string default_value = 3",
        "string operation_timestamp = 4",
    ],
    "UpdateColumnValueOperation": ["string column = 1", "string value = 2"],
    "TableSyncModeMigrationOperation": [
        "TableSyncModeMigrationType type = 1",
        "opt string soft_deleted_column = 2",
        "opt bool keep_deleted_rows = 3",
    ],
}

DESTINATION_ENUMS: dict[str, list[str]] = {
    "Encryption": ["NONE = 0", "AES = 1"],
    "BatchFileFormat": ["CSV = 0", "PARQUET = 1"],
    "Compression": ["OFF = 0", "ZSTD = 1", "GZIP = 2"],
    "TableSyncModeMigrationType": [
        "SOFT_DELETE_TO_LIVE = 0",
        "SOFT_DELETE_TO_HISTORY = 1",
        "HISTORY_TO_SOFT_DELETE = 2",
        "HISTORY_TO_LIVE = 3",
        "LIVE_TO_SOFT_DELETE = 4",
        "LIVE_TO_HISTORY = 5",
    ],
}

# The reference leaves the names of these two oneofs open; only membership matters on the wire.
CONNECTOR_MESSAGES: dict[str, list[str]] = {
    "SchemaRequest": ["map<string,string> configuration = 1"],
    "SchemaResponse": [
        "oneof response: bool schema_response_not_supported = 1",
        "oneof response: SchemaList with_schema = 2",
        "oneof response: TableList without_schema = 3",
        "opt bool selection_not_supported = 4",
    ],
    "UpdateRequest": [
        "map<string,string> configuration = 1",
        "opt Selection selection = 2",
        "opt string state_json = 3",
    ],
    "Selection": [
        "oneof selection: TablesWithNoSchema without_schema = 1",
        "oneof selection: TablesWithSchema with_schema = 2",
    ],
    "TablesWithNoSchema": ["rep TableSelection tables = 1", "bool include_new_tables = 2"],
    "TablesWithSchema": ["rep SchemaSelection schemas = 1", "bool include_new_schemas = 2"],
    "SchemaSelection": [
        "bool included = 1",
        "string schema_name = 2",
        "rep TableSelection tables = 3",
        "bool include_new_tables = 4",
    ],
    "TableSelection": [
        "bool included = 1",
        "string table_name = 2",
        "map<string,bool> columns = 3",
        "bool include_new_columns = 4",
    ],
    "UpdateResponse": [
        "oneof operation: Record record = 1",
        "oneof operation: SchemaChange schema_change = 2",
        "oneof operation: Checkpoint checkpoint = 3",
        "oneof operation: Warning warning = 4",
        "oneof operation: Task task = 5",
        "oneof operation: Records records = 6",
    ],
    "SchemaChange": [
        "oneof change: SchemaList with_schema = 1",
        "oneof change: TableList without_schema = 2",
    ],
    "Records": ["rep Record records = 1"],
    "Record": [
        "opt string schema_name = 1",
        "string table_name = 2",
        "RecordType type = 3",
        "map<string,ValueType> data = 4",
    ],
    "Checkpoint": ["string state_json = 1"],
}

# rpc name -> (request, response, server streaming)
DESTINATION_RPCS = {
    "ConfigurationForm": ("ConfigurationFormRequest", "ConfigurationFormResponse", False),
    "Capabilities": ("CapabilitiesRequest", "CapabilitiesResponse", False),
    "Test": ("TestRequest", "TestResponse", False),
    "DescribeTable": ("DescribeTableRequest", "DescribeTableResponse", False),
    "CreateTable": ("CreateTableRequest", "CreateTableResponse", False),
    "AlterTable": ("AlterTableRequest", "AlterTableResponse", False),
    "Truncate": ("TruncateRequest", "TruncateResponse", False),
    "WriteBatch": ("WriteBatchRequest", "WriteBatchResponse", False),
    "WriteHistoryBatch": ("WriteHistoryBatchRequest", "WriteBatchResponse", False),
    "Migrate": ("MigrateRequest", "MigrateResponse", False),
}
SOURCE_RPCS = {
    "ConfigurationForm": ("ConfigurationFormRequest", "ConfigurationFormResponse", False),
    "Test": ("TestRequest", "TestResponse", False),
    "Schema": ("SchemaRequest", "SchemaResponse", False),
    "Update": ("UpdateRequest", "UpdateResponse", True),
}

FILES = {
    "common.proto": (common_pb2, COMMON_MESSAGES, COMMON_ENUMS, ["google/protobuf/timestamp.proto"]),
    "destination_sdk.proto": (
        destination_sdk_pb2,
        DESTINATION_MESSAGES,
        DESTINATION_ENUMS,
        ["google/protobuf/timestamp.proto", "common.proto"],
    ),
    "connector_sdk.proto": (connector_sdk_pb2, CONNECTOR_MESSAGES, {}, ["common.proto"]),
}

_SCALARS = {
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_DOUBLE: "double",
}
_QUALIFIED = re.compile(r"^\.(fivetran_sdk\.v2|google\.protobuf)\.")


def _file_proto(module: ModuleType) -> descriptor_pb2.FileDescriptorProto:
    return descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)


def _type_name(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type in _SCALARS:
        return _SCALARS[field.type]
    assert field.type in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_ENUM), field
    assert _QUALIFIED.match(field.type_name), f"unexpected package in {field.type_name}"
    return _QUALIFIED.sub("", field.type_name)


def _render_fields(message: descriptor_pb2.DescriptorProto) -> list[str]:
    """Describe every field in the reference's notation, ordered by field number."""
    map_entries = {nested.name: nested for nested in message.nested_type if nested.options.map_entry}
    rendered = []
    for field in sorted(message.field, key=lambda f: f.number):
        entry_name = field.type_name.rsplit(".", 1)[-1]
        if field.label == FieldDescriptor.LABEL_REPEATED and entry_name in map_entries:
            key, value = sorted(map_entries[entry_name].field, key=lambda f: f.number)
            text = f"map<{_type_name(key)},{_type_name(value)}> {field.name} = {field.number}"
        else:
            prefix = ""
            if field.proto3_optional:
                prefix = "opt "
            elif field.label == FieldDescriptor.LABEL_REPEATED:
                prefix = "rep "
            elif field.HasField("oneof_index"):
                prefix = f"oneof {message.oneof_decl[field.oneof_index].name}: "
            text = f"{prefix}{_type_name(field)} {field.name} = {field.number}"
        rendered.append(text)
    return rendered


def _by_number(specs: list[str]) -> list[str]:
    return sorted(specs, key=lambda spec: int(spec.rsplit("= ", 1)[1]))


@pytest.mark.parametrize("file_name", list(FILES))
def test_file_header(file_name: str) -> None:
    module, _, _, imports = FILES[file_name]
    proto = _file_proto(module)
    assert proto.name == file_name
    assert proto.package == "fivetran_sdk.v2"
    assert proto.syntax == "proto3"
    assert list(proto.dependency) == imports
    assert proto.options.optimize_for == descriptor_pb2.FileOptions.SPEED
    assert proto.options.java_multiple_files is True
    assert proto.options.go_package == "fivetran.com/fivetran_sdk_v2"
    assert not proto.options.HasField("java_package")


@pytest.mark.parametrize("file_name", list(FILES))
def test_messages_match_reference(file_name: str) -> None:
    module, expected_messages, _, _ = FILES[file_name]
    proto = _file_proto(module)
    actual = {message.name: _render_fields(message) for message in proto.message_type}
    assert sorted(actual) == sorted(expected_messages), "message set differs"
    for name, fields in expected_messages.items():
        assert actual[name] == _by_number(fields), f"{file_name}: fields of {name} differ"


@pytest.mark.parametrize("file_name", list(FILES))
def test_enums_match_reference(file_name: str) -> None:
    module, _, expected_enums, _ = FILES[file_name]
    proto = _file_proto(module)
    actual = {
        enum.name: [f"{value.name} = {value.number}" for value in enum.value] for enum in proto.enum_type
    }
    assert actual == expected_enums


@pytest.mark.parametrize(
    ("module", "service", "rpcs"),
    [
        (destination_sdk_pb2, "DestinationConnector", DESTINATION_RPCS),
        (connector_sdk_pb2, "SourceConnector", SOURCE_RPCS),
    ],
)
def test_service_methods(module: ModuleType, service: str, rpcs: dict[str, tuple[str, str, bool]]) -> None:
    (proto_service,) = _file_proto(module).service
    assert proto_service.name == service
    actual = {
        method.name: (
            _QUALIFIED.sub("", method.input_type),
            _QUALIFIED.sub("", method.output_type),
            method.server_streaming,
        )
        for method in proto_service.method
    }
    assert actual == rpcs
    assert not any(method.client_streaming for method in proto_service.method)
    assert list(actual) == list(rpcs), "declaration order differs"


def test_destination_service_full_name() -> None:
    service = destination_sdk_pb2.DESCRIPTOR.services_by_name["DestinationConnector"]
    assert service.full_name == "fivetran_sdk.v2.DestinationConnector"
    assert len(service.methods) == 10


def test_optional_fields_track_presence() -> None:
    """proto3 `optional` must give HasField, which the handlers rely on (e.g. TruncateRequest.soft)."""
    request = destination_sdk_pb2.TruncateRequest()
    assert not request.HasField("soft")
    request.soft.deleted_column = "_fivetran_deleted"
    assert request.HasField("soft")
    column = common_pb2.Column(name="amount", type=common_pb2.DECIMAL)
    assert not column.HasField("params")
    migration = destination_sdk_pb2.TableSyncModeMigrationOperation(keep_deleted_rows=False)
    assert migration.HasField("keep_deleted_rows")
    assert not migration.HasField("soft_deleted_column")


def test_known_wire_bytes() -> None:
    """Spot-check encodings computed by hand from field numbers and wire types."""
    response = destination_sdk_pb2.CapabilitiesResponse(batch_file_format=destination_sdk_pb2.PARQUET)
    assert response.SerializeToString() == b"\x08\x01"
    truncate = destination_sdk_pb2.TruncateRequest(soft=destination_sdk_pb2.SoftTruncate(deleted_column="d"))
    assert truncate.SerializeToString() == b"\x32\x03\x0a\x01d"  # field 6, length 3: {field 1: "d"}
    history = destination_sdk_pb2.WriteHistoryBatchRequest(earliest_start_files=["f"])
    assert history.SerializeToString() == b"\x2a\x01f"  # field 5, length-delimited
