"""Text longer than CrateDB's indexed-text limit must not fail a sync.

CrateDB rejects a TEXT value over 32,766 UTF-8 bytes unless its column is `INDEX OFF STORAGE WITH
(columnstore = false)` (CrateDB docs general/ddl/storage). Columns whose type or params announce long
values are created that
way (`type_mapping.unlimited_text`); a STRING column without a large `string_byte_length` is not, and
Fivetran does not always send that param. So writers measure every value of such a column before a chunk
is sent; when one does not fit, the column is switched to unlimited storage first, once, through the
lossless rebuild (`schema.rebuild`: scratch table, copy, count check, swap), and the switch is recorded in
the metadata record (`ColumnSpec.long_text`) so that DescribeTable answers as before and later rebuilds
keep the storage. Key columns cannot be unindexed in CrateDB: a key value over the limit is a Task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace

from cratedb_destination.client import Session
from cratedb_destination.errors import UserActionRequired
from cratedb_destination.limits import MAX_INDEXED_TEXT_BYTES
from cratedb_destination.metadata import MetadataStore
from cratedb_destination.services import schema
from cratedb_destination.sql.identifiers import TableRef
from cratedb_destination.type_mapping import (
    UNLIMITED_TEXT_STORAGE,
    ColumnSpec,
    text_backed,
    unlimited_text,
)

log = logging.getLogger(__name__)


def key_too_long(size: int) -> str:
    """Why a key value over the limit cannot be written (the value itself is never quoted)."""
    return (
        f"the value has {size:,} UTF-8 bytes; CrateDB cannot store text over {MAX_INDEXED_TEXT_BYTES:,} "
        "bytes in a primary-key column"
    )


class LongTextColumns:
    """The text columns of one table that may still meet the limit, for the duration of one RPC.

    The caller holds the table's lock, so no other RPC rebuilds the table meanwhile.
    """

    def __init__(self, session: Session, metadata: MetadataStore, table: TableRef) -> None:
        self.session = session
        self.metadata = metadata
        self.table = table
        self._unlimited: set[str] = set()
        self.rebuilds = 0

    def watches(self, spec: ColumnSpec) -> bool:
        """Whether values of `spec` must be measured: a text column not yet known to be unlimited.

        The request's definition does not decide (it may carry params the table was not created with);
        the stored table does, in `make_room`, at the cost of one DescribeTable per RPC and column.
        """
        return text_backed(spec.type) and spec.name not in self._unlimited

    def make_room(self, names: Iterable[str]) -> None:
        """Give the columns `names` unlimited storage unless they have it already.

        The table as it is now (DescribeTable's view plus recorded storage) is the starting point, so a
        column switched by an earlier RPC is not rebuilt again.
        """
        current = schema.describe(self.session, self.metadata, self.table)
        if current is None:
            raise UserActionRequired(f"table {self.table} does not exist")
        switch: list[str] = []
        for name in dict.fromkeys(names):
            spec = current.column(name)
            if spec is None:  # the write will name the unknown column
                continue
            if spec.primary_key:
                raise UserActionRequired(
                    f"table {self.table}, column {name!r}: a value is longer than {MAX_INDEXED_TEXT_BYTES:,} "
                    "UTF-8 bytes, which CrateDB cannot store in a primary-key column"
                )
            if unlimited_text(spec):
                self._unlimited.add(name)
            else:
                switch.append(name)
        if not switch:
            return
        for name in switch:
            log.warning(
                "table %s, column %r: a value is longer than %d UTF-8 bytes, the limit of indexed text; the "
                "column is rebuilt as %s (its values can no longer be filtered efficiently)",
                self.table,
                name,
                MAX_INDEXED_TEXT_BYTES,
                UNLIMITED_TEXT_STORAGE,
            )
        final = [replace(spec, long_text=True) if spec.name in switch else spec for spec in current.columns]
        schema.rebuild(self.session, self.metadata, current, final)
        self._unlimited.update(switch)
        self.rebuilds += 1
