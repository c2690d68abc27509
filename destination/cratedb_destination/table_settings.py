"""Shards, replicas and partitioning of the tables the destination creates.

The setup form carries defaults for every table (`default_shards`, `default_replicas`) and an optional
JSON file of per-table overrides (`table_settings_file`). This module parses both, resolves the settings
of one table, and checks them against the table's definition. Everything here is pure; the statement text
is built by `sql.ddl.create_table`, and rebuilds keep what a table has (`services.schema.rebuild`).

CrateDB's rules enforced here, so that a mistake is a Task naming the file, the entry and the key instead
of a failed CREATE TABLE:

- shards: a whole number of at least 1 ("num_shards in CLUSTERED clause must be greater than 0", CrateDB
  source NumberOfShards.java) and at most 1024 (`index.number_of_shards`, CrateDB source
  IndexMetadata.java `buildNumberOfShardsSetting`);
- replicas: a whole number of at least 0 or a range `min-max` / `min-all` with min <= max (CrateDB source
  NumberOfReplicas.java `EXPAND_REPLICA_PATTERN`, AutoExpandReplicas.java; CrateDB docs
  sql/statements/create-table "number_of_replicas");
- partition columns: existing columns of the primary key ("Cannot use non primary key column '...' in
  PARTITIONED BY clause if primary key is set on table", CrateDB source TableElementsAnalyzer.java
  `ensureValidPartitionColumn`; every table of the destination has a primary key). CrateDB refuses updates
  of them ("Updating a partitioned-by column is not supported", CrateDB source DocTableRelation.java), which
  the destination never does to key columns. We further allow only date/time columns (NAIVE_DATE,
  NAIVE_DATETIME, UTC_DATETIME): each distinct value becomes a partition (CrateDB docs
  general/ddl/partitioned-tables), so a partition column must be a coarse time key such as an event date.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cratedb_destination.domain import TableSchema
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import is_timestamp

FILE_FIELD = "table_settings_file"
FILE_LABEL = "Table settings file (JSON)"
SHARDS_FIELD = "default_shards"
SHARDS_LABEL = "Shards per table"
REPLICAS_FIELD = "default_replicas"
REPLICAS_LABEL = "Replicas per table"
MAX_FILE_BYTES = 1_048_576

MIN_SHARDS = 1
MAX_SHARDS = 1024
_JAVA_INT_MAX = 2**31 - 1
_REPLICA_RANGE = re.compile(r"([0-9]+)-(all|[0-9]+)")

KEY_SHARDS = "shards"
KEY_REPLICAS = "replicas"
KEY_PARTITIONED_BY = "partitioned_by"
_KEYS = (KEY_SHARDS, KEY_REPLICAS, KEY_PARTITIONED_BY)
ANY_TABLE = "*"


class TableSettingsError(UserActionRequired):
    """A table setting CrateDB would refuse; the message names the field or file, entry and key."""


@dataclass(frozen=True)
class TableSettings:
    """What `CREATE TABLE` says about distribution: None / () means CrateDB's default.

    `replicas` is CrateDB's text form (`"1"`, `"0-1"`, `"0-all"`). `partitioned_by` holds Fivetran column
    names. `origin` says where `partitioned_by` came from, for messages.
    """

    shards: int | None = None
    replicas: str | None = None
    partitioned_by: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)

    def over(self, fallback: TableSettings) -> TableSettings:
        """These settings, with `fallback`'s where these leave one unset."""
        partitioned = self.partitioned_by or fallback.partitioned_by
        return TableSettings(
            self.shards if self.shards is not None else fallback.shards,
            self.replicas if self.replicas is not None else fallback.replicas,
            partitioned,
            self.origin if self.partitioned_by else fallback.origin,
        )

    def without_partitioning(self) -> TableSettings:
        return replace(self, partitioned_by=(), origin="")


@dataclass(frozen=True)
class TableSettingsConfig:
    """The form's defaults and the file's entries (`*`, `schema.*`, `schema.table`), hashable."""

    defaults: TableSettings = TableSettings()
    entries: tuple[tuple[str, TableSettings], ...] = ()

    def for_table(self, ref: TableRef) -> TableSettings:
        """The table's entry, over its schema's `schema.*`, over `*`, over the form's defaults."""
        by_name = dict(self.entries)
        settings = self.defaults
        for name in (ANY_TABLE, f"{ref.schema}.*", f"{ref.schema}.{ref.table}"):
            entry = by_name.get(name)
            if entry is not None:
                settings = entry.over(settings)
        return settings


# CrateDB's defaults everywhere: what tables get when the form and the file say nothing.
DEFAULT = TableSettings()
NO_SETTINGS = TableSettingsConfig()


# ---------------------------------------------------------------------------------------------------------
# Values


def _whole(value: Any) -> int | None:
    """`value` as a whole number (JSON number without fraction, or digits as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value.strip())
    return None


def parse_shards(value: Any, where: str) -> int:
    number = _whole(value)
    if number is None:
        raise TableSettingsError(f"{where} must be a whole number of shards, got {_shown(value)}")
    if not MIN_SHARDS <= number <= MAX_SHARDS:
        raise TableSettingsError(
            f"{where} must be between {MIN_SHARDS} and {MAX_SHARDS}, got {number}: CrateDB needs at least "
            f"one shard and allows at most {MAX_SHARDS} per table (or partition)"
        )
    return number


def parse_replicas(value: Any, where: str) -> str:
    """CrateDB's text form of a replica count (`"1"`) or range (`"0-1"`, `"1-all"`)."""
    number = _whole(value)
    if number is not None:
        if number < 0:
            raise TableSettingsError(f"{where} cannot be negative, got {number}")
        if number > _JAVA_INT_MAX:
            raise TableSettingsError(f"{where} is too large, got {number}")
        return str(number)
    if isinstance(value, str):
        match = _REPLICA_RANGE.fullmatch(value.strip())
        if match is not None:
            low, high = int(match.group(1)), match.group(2)
            if high != "all" and low > int(high):
                raise TableSettingsError(
                    f"{where}: the range {value.strip()!r} has a minimum above its maximum"
                )
            if low > _JAVA_INT_MAX or (high != "all" and int(high) > _JAVA_INT_MAX):
                raise TableSettingsError(f"{where} is too large, got {value.strip()!r}")
            return f"{low}-{high if high == 'all' else int(high)}"
    raise TableSettingsError(
        f"{where} must be a number of replicas (0, 1, ...) or a range such as '0-1' or '1-all', "
        f"got {_shown(value)}"
    )


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# ---------------------------------------------------------------------------------------------------------
# The form


def _form_value(configuration: Mapping[str, str], name: str) -> str:
    return (configuration.get(name) or "").strip()


def parse_defaults(configuration: Mapping[str, str]) -> TableSettings:
    shards = _form_value(configuration, SHARDS_FIELD)
    replicas = _form_value(configuration, REPLICAS_FIELD)
    return TableSettings(
        parse_shards(shards, f"'{SHARDS_LABEL}'") if shards else None,
        parse_replicas(replicas, f"'{REPLICAS_LABEL}'") if replicas else None,
    )


def _file_text(raw: str) -> str:
    """The uploaded file's text: Fivetran sends uploads base64-encoded; plain JSON is taken as it is."""
    if raw.startswith(("{", "[")):
        return raw
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise TableSettingsError(f"'{FILE_LABEL}' could not be decoded; upload a JSON file") from None
    if len(data) > MAX_FILE_BYTES:
        raise TableSettingsError(f"'{FILE_LABEL}' is larger than 1 MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TableSettingsError(f"'{FILE_LABEL}' is not UTF-8 text; upload a JSON file") from None


def _entry_name(name: str) -> str:
    """Validate an entry's name: `*`, `schema.*` or `schema.table` (names CrateDB can hold)."""
    where = f"'{FILE_LABEL}': entry {name!r}"
    if name == ANY_TABLE:
        return name
    schema, dot, table = name.partition(".")
    if not dot:
        raise TableSettingsError(f"{where} must be '*', 'schema.*' or 'schema.table'")
    try:
        if table == "*":
            TableRef(schema, "t")
        else:
            TableRef(schema, table)
    except UserActionRequired as exc:
        raise TableSettingsError(f"{where} is not a table name CrateDB can hold: {exc}") from None
    return name


def _entry(name: str, body: Any) -> TableSettings:
    where = f"'{FILE_LABEL}': entry {name!r}"
    if not isinstance(body, dict):
        raise TableSettingsError(f"{where} must be an object with keys {', '.join(_KEYS)}")
    unknown = sorted(set(body) - set(_KEYS))
    if unknown:
        raise TableSettingsError(f"{where} has unknown key {unknown[0]!r}; the keys are {', '.join(_KEYS)}")
    shards = body.get(KEY_SHARDS)
    replicas = body.get(KEY_REPLICAS)
    partitioned = body.get(KEY_PARTITIONED_BY)
    columns: tuple[str, ...] = ()
    if partitioned is not None:
        key_where = f"{where}, key {KEY_PARTITIONED_BY!r}"
        if name == ANY_TABLE or name.endswith(".*"):
            raise TableSettingsError(
                f"{key_where}: partition columns depend on the table; name it as 'schema.table'"
            )
        listed = [partitioned] if isinstance(partitioned, str) else partitioned
        if (
            not isinstance(listed, list)
            or not listed
            or not all(isinstance(column, str) and column for column in listed)
        ):
            raise TableSettingsError(f"{key_where} must be a column name or a non-empty list of column names")
        if len(set(listed)) != len(listed):
            raise TableSettingsError(f"{key_where} names a column more than once")
        columns = tuple(listed)
    return TableSettings(
        parse_shards(shards, f"{where}, key {KEY_SHARDS!r},") if shards is not None else None,
        parse_replicas(replicas, f"{where}, key {KEY_REPLICAS!r},") if replicas is not None else None,
        columns,
        f"'{FILE_LABEL}', entry {name!r}, key {KEY_PARTITIONED_BY!r}" if columns else "",
    )


def parse_file(raw: str) -> tuple[tuple[str, TableSettings], ...]:
    """The entries of the uploaded JSON file (empty when nothing was uploaded)."""
    raw = raw.strip()
    if not raw:
        return ()
    text = _file_text(raw)
    if len(text.encode()) > MAX_FILE_BYTES:
        raise TableSettingsError(f"'{FILE_LABEL}' is larger than 1 MiB")
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise TableSettingsError(f"'{FILE_LABEL}' names {exc.args[0]!r} twice in one object") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        at = f" (line {line})" if line else ""
        raise TableSettingsError(f"'{FILE_LABEL}' is not valid JSON{at}") from None
    if not isinstance(document, dict):
        raise TableSettingsError(
            f"'{FILE_LABEL}' must be a JSON object whose keys are '*', 'schema.*' or 'schema.table'"
        )
    return tuple((_entry_name(name), _entry(name, body)) for name, body in document.items())


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def parse_configuration(configuration: Mapping[str, str]) -> TableSettingsConfig:
    """Defaults and entries from the form values; a bad value raises TableSettingsError naming it."""
    defaults = parse_defaults(configuration)
    return TableSettingsConfig(defaults, parse_file(_form_value(configuration, FILE_FIELD)))


# ---------------------------------------------------------------------------------------------------------
# Checks against a table


def check_partitioning(settings: TableSettings, table: TableSchema) -> None:
    """At CreateTable (and before a copy is created): each partition column must be a date/time column of
    the table's primary key."""
    for name in settings.partitioned_by:
        spec = table.column(name)
        where = f"{settings.origin or 'table settings'}: column {name!r} of table {table.ref}"
        if spec is None:
            raise TableSettingsError(f"{where} does not exist")
        if not spec.primary_key:
            raise TableSettingsError(
                f"{where} is not part of the primary key ({', '.join(table.keys) or 'none'}); CrateDB "
                "partitions a table with a primary key only by key columns"
            )
        if not is_timestamp(spec.type):
            raise TableSettingsError(
                f"{where} is {spec.type}; partition by a date or time column (NAIVE_DATE, "
                "NAIVE_DATETIME or UTC_DATETIME): every distinct value becomes a partition"
            )


def check_kept_partitioning(settings: TableSettings, table: TableSchema, change: str) -> None:
    """Before a rebuild keeps a table's partitioning: the partition columns must stay key columns
    (CrateDB's own rule; the date/time choice was made when the table was created)."""
    for name in settings.partitioned_by:
        spec = table.column(name)
        if spec is None or not spec.primary_key:
            raise TableSettingsError(
                f"{change} table {table.ref}: it is partitioned by {name!r}, which would "
                f"{'no longer exist' if spec is None else 'leave the primary key'}; CrateDB partitions a "
                "table with a primary key only by key columns. Drop the table in CrateDB and re-sync it, "
                "or keep the column in the key."
            )
