"""CrateDB's limits and capabilities that the destination depends on, in one place, each with its source.

Sources are crate/crate (github.com/crate/crate; Java paths below `server/src/main/java/`) and CrateDB's
reference documentation (https://cratedb.com/docs/crate/reference/en/latest/).
"""

from __future__ import annotations

# `_fivetran_*` column names (leading underscore) and CREATE SCHEMA need CrateDB 6.2.0 (both are new in
# docs/appendices/release-notes/6.2.0.rst).
MIN_SERVER_VERSION = (6, 2, 0)

# The `statement_max_length` node setting's default (`io.crate.session.Sessions.STATEMENT_MAX_LENGTH`),
# counted in UTF-16 code units, as Java's String.length() counts (CrateDB source Session.java
# `validateStatementLength`): a character outside the Basic Multilingual Plane counts twice.
MAX_STATEMENT_CHARS = 262_144


def statement_length(stmt: str) -> int:
    """The length CrateDB compares with `MAX_STATEMENT_CHARS`: UTF-16 code units."""
    return len(stmt.encode("utf-16-le")) // 2


# CrateDB details at most this many failed rows per shard and bulk request; later failures are a bare
# `{"rowcount": -2}` (`io.crate.execution.engine.indexing.ShardingUpsertExecutor
# .BULK_RESPONSE_MAX_ERRORS_PER_SHARD`, `io.crate.execution.dml.ShardResponse.add`).
BULK_ERRORS_PER_SHARD = 10

# NUMERIC storage takes a precision of 1 to 38 digits (`io.crate.types.NumericType`; docs
# general/ddl/data-types "NUMERIC"). A DECIMAL without params is stored with this precision and scale.
MAX_DECIMAL_PRECISION = 38
DEFAULT_DECIMAL = (38, 10)

# An indexed or column-stored TEXT value is one Lucene term, at most 32,766 UTF-8 bytes
# (`org.apache.lucene.index.IndexWriter.MAX_TERM_LENGTH`; CrateDB answers "Document contains at least one
# immense term").
MAX_INDEXED_TEXT_BYTES = 32_766

# The clauses one query may expand to: the node setting `indices.query.bool.max_clause_count`, default 8192
# (`io.crate.lucene.LuceneQueryBuilder`). Per-record lookups stay far below it (`services/history.py`).
MAX_QUERY_CLAUSES = 8192
