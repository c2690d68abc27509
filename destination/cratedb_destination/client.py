"""The only module that talks to CrateDB.

- A pool of `crate` driver connections per configuration (the driver's connections must not be shared
  between threads); `CrateClient.session()` lends one connection to one thread.
- Every bulk request's per-row results are checked: CrateDB answers HTTP 200 even when rows failed
  (rowcount -2), and the driver does not raise for them. Only the first 10 failures per shard carry an
  error (`ShardResponse.add`, `ShardingUpsertExecutor.BULK_RESPONSE_MAX_ERRORS_PER_SHARD` in
  crate/crate); later ones are a bare `{"rowcount": -2}` (`BulkResult.unexplained`).
  The common answer, every row `{"rowcount":1}`, is recognised by counting, without parsing
  (`every_row_one`).
- A bulk UPDATE or DELETE by full primary key answers a key that does not exist with rowcount -2 and
  code 40411 `DocumentMissingException` (`TransportShardDeleteAction`, `TransportShardUpsertAction` in
  crate/crate; test `RestSQLActionIntegrationTest.test_failing_delete_bulk_response_errors_are_truncated`).
  With `missing_ok` such rows count 0 instead of failing.
- A bulk request whose parameters fail analysis or casting fails as a whole with HTTP 400 and one error
  (`RestSQLActionIntegrationTest.test_insert_with_failing_bulk_args_analysis_error`): `BulkRequestRejected`
  names the rows and columns whose values the message quotes, and the message is redacted.
- Transient failures (unreachable node, HTTP 503, thread-pool rejection, circuit breaker, version
  conflicts of idempotent statements) are retried with exponential backoff and full jitter, bounded in
  attempts and total time; rows that failed transiently in a bulk request are re-sent on their own.
  Permanent errors (analysis errors, constraint violations) are raised at once as `CrateDBError`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import re
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

import orjson
import urllib3
from crate.client import connect
from crate.client import exceptions as crate_errors
from crate.client import http as crate_http
from isal import igzip

from cratedb_destination.config import ConnectionSettings
from cratedb_destination.errors import CrateDBError, RowsRejected, TransientFailure, UnsupportedServer
from cratedb_destination.limits import MAX_STATEMENT_CHARS, MIN_SERVER_VERSION, statement_length
from cratedb_destination.native import EncodedRows
from cratedb_destination.sql import ddl
from cratedb_destination.sql.identifiers import TableRef

log = logging.getLogger(__name__)
# Request bodies of at least this many bytes are sent gzip-compressed, at this igzip level (`_post_sql`).
COMPRESS_MIN_BYTES = 8192
COMPRESS_LEVEL = 1
# The driver logs request payloads at DEBUG; payloads are row data and must never reach the log.
logging.getLogger("crate.client").setLevel(logging.INFO)
# On ConnectionResetError/BrokenPipeError the driver keeps the server "active" and re-sends at once, in
# an endless loop without backoff, so a node that keeps resetting connections hangs the RPC forever.
# Emptying this set makes the driver raise ConnectionError instead; `Session._call` then retries with
# bounded backoff.
crate_http.PRESERVE_ACTIVE_SERVER_EXCEPTIONS = set()

# The lowest version of every node: the driver's own `lowest_server_version` reads 0.0.0 when its first
# request failed, so the destination asks the cluster itself.
SERVER_VERSIONS = "SELECT version['number'] FROM sys.nodes"

# Messages of failures worth retrying: overload (thread-pool rejection, circuit breaker), shards or nodes
# briefly unavailable, and optimistic-concurrency conflicts (only for idempotent statements).
_TRANSIENT_MESSAGE = re.compile(
    r"RejectedExecution|rejected execution|CircuitBreaking|circuit_breaking|Data too large"
    r"|NoShardAvailable|UnavailableShards|ShardNotFound|NodeNotConnected|NodeDisconnected"
    r"|ClusterBlockException\[.*(?:no master|state not recovered)|MasterNotDiscovered|NotMasterException"
    r"|ProcessClusterEventTimeout|503 Server Error|502 Server Error|504 Server Error"
    # The driver reports unreachable nodes (refused, reset, timed out, HTTP 502/503/504) this way.
    r"|No more Servers available|Server not available",
    re.IGNORECASE,
)
_VERSION_CONFLICT = re.compile(r"VersionConflict|version conflict", re.IGNORECASE)
_TRANSIENT_CODES = frozenset({4290, 5000, 5001, 5002, 5003, 5030, 5031, 5032, 5033, 5034, 5035})
_CONFLICT_CODE = 4092
_ROWCOUNT = itemgetter("rowcount")
# A DML by primary key found no document (crate/crate `HttpErrorStatus.DOCUMENT_NOT_FOUND`).
DOCUMENT_MISSING_CODE = 40411

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter: the n-th wait is uniform in [0, min(cap, base*2^n)]."""

    max_retries: int = 5
    budget_seconds: float = 120.0
    base_delay: float = 0.2
    max_delay: float = 10.0

    def delays(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        for attempt in range(self.max_retries):
            yield rng() * min(self.max_delay, self.base_delay * (2**attempt))


@dataclass(frozen=True)
class RowFailure:
    """One failed row of a bulk request: its index in the request, CrateDB's code and (redacted) message,
    and the indexes of the row's parameters whose value the original message quoted."""

    index: int
    code: int | None
    message: str
    quoted: tuple[int, ...] = ()


class BulkRowsFailed(RowsRejected):
    """Rows of a bulk request failed permanently; callers map `failures` indexes to file rows."""

    def __init__(self, failures: Sequence[RowFailure], total: int) -> None:
        first = failures[0]
        detail = f"CrateDB error {first.code}: {first.message}" if first.code else first.message
        super().__init__(f"{len(failures)} of {total} rows were rejected; first: {detail}", first.code)
        self.failures = list(failures)


@dataclass(frozen=True)
class QuotedValue:
    """Where a value quoted by a rejection message stands in a bulk request: row index, parameter index."""

    row: int
    parameter: int


class BulkRequestRejected(RowsRejected):
    """CrateDB refused a whole bulk request (HTTP 4xx), e.g. a parameter it cannot cast to its column.

    The message is redacted; `quoted` lists the parameters whose value the original message quoted, so
    callers can name the file rows and columns.
    """

    def __init__(self, message: str, code: int | None, quoted: Sequence[QuotedValue]) -> None:
        super().__init__(message, code)
        self.quoted = list(quoted)


@dataclass(frozen=True)
class BulkResult:
    """Per-row counts of a bulk request (0 for a key that did not exist, with `missing_ok`).

    `unexplained` lists rows that failed without details (CrateDB details only 10 failures per shard):
    with `missing_ok` they are most likely missing keys too, and the caller must settle them.
    """

    counts: list[int]
    unexplained: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def http_status(code: int) -> int:
    """The HTTP status of a CrateDB error code: its first three digits (4000 -> 400, 40411 -> 404)."""
    return int(str(abs(code))[:3])


def _is_transient_error(exc: Exception, idempotent: bool) -> bool:
    if isinstance(exc, crate_errors.ConnectionError):
        return True
    message = str(getattr(exc, "message", None) or exc)
    if _TRANSIENT_MESSAGE.search(message):
        return True
    return idempotent and bool(_VERSION_CONFLICT.search(message))


def _is_transient_row(failure: RowFailure, idempotent: bool) -> bool:
    code = failure.code
    if code == _CONFLICT_CODE or (code is None and _VERSION_CONFLICT.search(failure.message)):
        return idempotent
    if code in _TRANSIENT_CODES and code != 5000:
        return True
    if code is not None and http_status(code) < 500:  # 4xx: the row itself is wrong; resending cannot help
        return False
    # 5000 covers both overload (worth a retry) and internal errors (not): decide by the message.
    return bool(_TRANSIENT_MESSAGE.search(failure.message))


def _message(exc: Exception, values: Sequence[Any] | None = None) -> str:
    return redact(str(getattr(exc, "message", None) or exc) or type(exc).__name__, values)


# Lucene's "immense term" error ends with the value's first bytes as numbers.
_TERM_PREFIX = re.compile(r"(prefix of the first immense term is: )'\[[\d, ]*\]?[^']*'")
# CrateDB quotes values in backticks after "value" ("Cannot cast value `abc` to type `integer`",
# "Cannot cast object element `a` with value `asdf` ..."); and a missing document's id in brackets
# ("DocumentMissingException[[<id>]: document missing]").
_QUOTED_VALUE = re.compile(r"(\bvalue `)(.*?)(` to type|`(?=[\s\],.]|$))", re.DOTALL)
_DOCUMENT_ID = re.compile(r"\[[^\[\]]*\]: document missing")


def quoted_values(message: str) -> list[str]:
    """The values a CrateDB message quotes in backticks (see `_QUOTED_VALUE`)."""
    return [match.group(2) for match in _QUOTED_VALUE.finditer(message)]


def redact(message: str, values: Sequence[Any] | None) -> str:
    """`message` without the statement parameters `values`: CrateDB quotes rejected values in its errors
    (e.g. "Value 98765.43 does not fit into NUMERIC(5, 2)"), and row data must not reach a Task or a log.

    Values shorter than 3 characters are kept so that codes and numbers in the text stay readable; values
    CrateDB quotes in backticks and document ids are removed whatever their length.
    """
    message = _TERM_PREFIX.sub(r"\1'<value>'", message)
    message = _QUOTED_VALUE.sub(r"\1<value>\3", message)
    message = _DOCUMENT_ID.sub("[<id>]: document missing", message)
    texts = {str(value) for value in values or () if value is not None and not isinstance(value, bool)}
    for text in sorted((text for text in texts if len(text) >= 3), key=len, reverse=True):
        message = re.sub(rf"(?<!\w){re.escape(text)}(?!\w)", "<value>", message)
    return message


def _rejected_request(raw: str, batch: Sequence[Sequence[Any]], positions: Sequence[int]) -> CrateDBError:
    """A bulk request CrateDB refused as a whole: find the parameters its message quotes, redact it."""
    found = _quoted_parameters(raw, batch, positions)
    values = [batch[positions.index(spot.row)][spot.parameter] for spot in found]
    return BulkRequestRejected(redact(raw, values), None, found)


def _quoted_parameters(
    raw: str, batch: Sequence[Sequence[Any]], positions: Sequence[int]
) -> list[QuotedValue]:
    """The parameters (row position, parameter index) whose value CrateDB's message `raw` quotes."""
    quoted = set(quoted_values(raw))
    if not quoted:
        return []
    return [
        QuotedValue(position, parameter)
        for position, row in zip(positions, batch, strict=True)
        for parameter, value in enumerate(row)
        if value is not None and _as_text(value) in quoted
    ]


def _as_text(value: Any) -> str:
    """A parameter as CrateDB prints it in a message (JSON booleans are lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Session:
    """One pooled driver connection, used by one thread for a sequence of statements.

    Nothing may depend on session settings (`SET ...`): CrateDB keeps them per HTTP connection (one
    session per Netty channel: CrateDB source SqlHttpHandler.java, `ensureSession`), and a reconnect or an
    HTTP proxy loses them silently.
    """

    def __init__(self, connection: Any, retry: RetryPolicy, sleep: Callable[[float], None]) -> None:
        self._connection = connection
        self._retry = retry
        self._sleep = sleep

    def _call(
        self,
        what: Callable[[], T],
        idempotent: bool,
        values: Sequence[Any] | None = None,
        rejected: Callable[[str], CrateDBError] | None = None,
    ) -> T:
        """`what()`, retried while CrateDB is unavailable. A permanent error becomes `rejected(message)`
        (default: a CrateDBError with the parameters `values` redacted from CrateDB's message)."""
        deadline = time.monotonic() + self._retry.budget_seconds
        delays = self._retry.delays()
        while True:
            try:
                return what()
            except (crate_errors.Error, OSError) as exc:
                if not _is_transient_error(exc, idempotent):
                    raw = str(getattr(exc, "message", None) or exc) or type(exc).__name__
                    raise (rejected(raw) if rejected else CrateDBError(redact(raw, values))) from None
                delay = next(delays, None)
                if delay is None or time.monotonic() + delay > deadline:
                    raise TransientFailure(
                        f"CrateDB stayed unavailable after {self._retry.max_retries} retries: "
                        f"{_message(exc, values)}"
                    ) from None
                log.warning("transient CrateDB failure (%s); retrying in %.2f s", type(exc).__name__, delay)
                self._sleep(delay)

    def _sql(self, stmt: str, args: Sequence[Any] | None = None, bulk_args: Any = None) -> dict[str, Any]:
        if statement_length(stmt) > MAX_STATEMENT_CHARS:
            raise CrateDBError(
                f"statement of {statement_length(stmt)} UTF-16 code units exceeds CrateDB's limit of "
                f"{MAX_STATEMENT_CHARS}"
            )
        if isinstance(bulk_args, EncodedRows) and not args:  # rows already written as JSON (native)
            body = b"".join((b'{"stmt":', orjson.dumps(stmt), b',"bulk_args":', bulk_args.json, b"}"))
        else:
            payload: dict[str, Any] = {"stmt": stmt}
            if args:
                payload["args"] = list(args)
            if bulk_args is not None:
                payload["bulk_args"] = bulk_args
            body = crate_http.json_dumps(payload)
        result = _post_sql(self._connection.client, body, len(bulk_args or ()))
        return result if isinstance(result, dict) else {}

    def execute(self, stmt: str, args: Sequence[Any] | None = None, *, idempotent: bool = True) -> int:
        """Run one statement; returns its row count (-1 when CrateDB does not know it)."""
        result = self._call(lambda: self._sql(stmt, args), idempotent, args)
        return int(result.get("rowcount", -1))

    def query(self, stmt: str, args: Sequence[Any] | None = None) -> list[list[Any]]:
        """Run a SELECT; returns the raw rows (timestamps as epoch milliseconds)."""
        result = self._call(lambda: self._sql(stmt, args), True, args)
        return [list(row) for row in result.get("rows", [])]

    def bulk(
        self,
        stmt: str,
        rows: Sequence[Sequence[Any]],
        *,
        idempotent: bool = True,
        missing_ok: bool = False,
    ) -> BulkResult:
        """Run one statement for many parameter rows in one request; returns each row's count.

        Every per-row result is checked. Rows that failed for good raise BulkRowsFailed; a request CrateDB
        refused as a whole raises BulkRequestRejected. Rows that failed transiently are retried on their
        own within the retry budget. With `missing_ok` (UPDATE/DELETE by full primary key), a key that
        does not exist counts 0, and rows that failed without details are returned as `unexplained`.
        """
        counts: list[int] = [0] * len(rows)
        unexplained: list[int] = []
        pending = list(range(len(rows)))
        deadline = time.monotonic() + self._retry.budget_seconds
        delays = self._retry.delays()
        while pending:
            batch = rows if len(pending) == len(rows) else [rows[i] for i in pending]
            result = self._call(
                lambda batch=batch: self._sql(stmt, None, batch),  # type: ignore[misc]
                idempotent,
                rejected=lambda raw, batch=batch, pending=pending: _rejected_request(raw, batch, pending),  # type: ignore[misc]
            )
            if result is EVERY_ROW_ONE:  # the common answer, recognised without parsing it
                if batch is rows:
                    return BulkResult([1] * len(rows), sorted(unexplained))
                for position in pending:
                    counts[position] = 1
                break
            results = result.get("results")
            if not isinstance(results, list) or len(results) != len(batch):
                raise CrateDBError(
                    f"CrateDB answered a bulk request of {len(batch)} rows with "
                    f"{len(results) if isinstance(results, list) else 'no'} results"
                )
            if batch is rows:
                succeeded = _all_succeeded(results)
                if succeeded is not None:  # the common answer, read without a loop per row in Python
                    return BulkResult(succeeded, [])
            failures: list[RowFailure] = []
            for position, item in zip(pending, results, strict=True):
                rowcount = int(item.get("rowcount", -2)) if isinstance(item, dict) else -2
                if rowcount >= 0 or rowcount == -1:
                    counts[position] = max(rowcount, 0)
                    continue
                error = item.get("error") if isinstance(item, dict) else None
                if not isinstance(error, dict):
                    failures.append(RowFailure(position, None, "row rejected without details"))
                elif not (missing_ok and error.get("code") == DOCUMENT_MISSING_CODE):
                    raw = str(error.get("message", ""))
                    quoted = tuple(spot.parameter for spot in _quoted_parameters(raw, [rows[position]], [0]))
                    failures.append(
                        RowFailure(position, error.get("code"), redact(raw, rows[position]), quoted)
                    )
            known = [failure for failure in failures if failure.code is not None]
            permanent = [failure for failure in known if not _is_transient_row(failure, idempotent)]
            if permanent:
                raise BulkRowsFailed(permanent, len(rows))
            if missing_ok:  # rows without details are settled by the caller; transient ones are retried
                unexplained += [failure.index for failure in failures if failure.code is None]
                pending = [failure.index for failure in known]
            elif failures and not known:  # no row says why it failed: nothing suggests a retry would help
                raise BulkRowsFailed(failures, len(rows))
            else:
                pending = [failure.index for failure in failures]
            if not pending:
                break
            delay = next(delays, None)
            if delay is None or time.monotonic() + delay > deadline:
                raise TransientFailure(
                    f"{len(pending)} rows kept failing transiently after {self._retry.max_retries} retries: "
                    f"{known[0].message}"
                )
            log.warning("%d rows failed transiently; retrying them in %.2f s", len(pending), delay)
            self._sleep(delay)
        return BulkResult(counts, sorted(unexplained))

    def refresh(self, table: TableRef) -> None:
        """Make every write to `table` visible to non-primary-key reads (CrateDB docs general/dql/refresh)."""
        self.execute(ddl.refresh(table))

    def table_exists(self, table: TableRef) -> bool:
        rows = self.query(ddl.TABLE_EXISTS, [table.schema, table.table])
        return bool(rows and rows[0][0])


# What `_post_sql` returns for a bulk answer whose every row succeeded with count 1.
EVERY_ROW_ONE: dict[str, Any] = {"results": "every row 1"}
# CrateDB writes its answers as compact JSON, one result object per bulk row, `{"rowcount":1}` for a row
# written (`RestSQLActionIntegrationTest.test_insert_with_failing_bulk_args_response_error_messages`).
_ROW_ONE = b'{"rowcount":1}'
_ROW_KEY = b'"rowcount"'


def every_row_one(data: bytes, rows: int) -> bool:
    """Whether the bulk answer `data` for `rows` rows says each row succeeded with count 1, read without
    parsing it. Each result object holds the key "rowcount" exactly once and a quote inside a JSON string
    is escaped, so `"rowcount"` and `{"rowcount":1}` occur nowhere but in results: as many of each as rows
    means every result is `{"rowcount":1}`. Any other answer (a failed row, a count other than 1, other
    spacing) is parsed and read row by row."""
    return rows > 0 and data.count(_ROW_ONE) == rows and data.count(_ROW_KEY) == rows


def _post_sql(client: Any, body: bytes, bulk_rows: int = 0) -> Any:
    """POST a statement's JSON body to `/_sql` as the driver's `Client.sql` does: the driver still picks the
    node, fails over, authenticates and turns error answers into its exceptions (`_request`,
    `_raise_for_status`, `_json_from_response` of crate-python's `crate/client/http.py`, pinned `<3`).
    The difference: the body is gzip-compressed by ISA-L's igzip at its level 1 (`isal`), not by zlib at
    the driver's fixed level 6: for 10,000 rows of `bench/bench_writes.py` (1.85 MB of JSON) 0.9 ms
    against 14.6 ms (zlib level 1: 3.7 ms), for a body of 8.8% of the JSON against 5.8% (zlib level 1:
    7.9%); see docs/destination.md, "Request bodies". And the body is never logged. CrateDB inflates gzip
    request bodies (Netty's HttpContentDecompressor in the HTTP pipeline: CrateDB source
    server/src/main/java/org/elasticsearch/http/netty4/Netty4HttpServerTransport.java).

    For a bulk request of `bulk_rows` rows, an answer that `every_row_one` recognises is returned as
    `EVERY_ROW_ONE` without being parsed: parsing the answers and reading their counts took about 35 ms of
    the destination's 480 ms per 200,000-row replace file (cProfile, 2026-12-06)."""
    headers = {"Accept-Encoding": "gzip, deflate"}
    if len(body) >= COMPRESS_MIN_BYTES:
        body = igzip.compress(body, compresslevel=COMPRESS_LEVEL)
        headers["Content-Encoding"] = "gzip"
    response = client._request("POST", client.path, data=body, headers=headers)
    crate_http._raise_for_status(response)
    if bulk_rows and every_row_one(response.data, bulk_rows):
        return EVERY_ROW_ONE
    return crate_http._json_from_response(response) if response.data else {}


def _all_succeeded(results: list[Any]) -> list[int] | None:
    """Each row's count when every row of a bulk answer succeeded (rowcount >= 0, or -1: unknown, counted
    0), else None (the caller then reads the answer row by row)."""
    try:
        counts = list(map(_ROWCOUNT, results))
        if not counts or min(counts) >= 0:
            return counts
        if min(counts) == -1:  # only -1 and above: no failure
            return [max(count, 0) for count in counts]
    except (TypeError, KeyError):
        pass
    return None


def _version_tuple(version: Any) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", str(version))
    return tuple(int(n) for n in numbers[:3])


class CrateClient:
    """Pooled access to one CrateDB cluster, safe to share between threads."""

    def __init__(
        self,
        settings: ConnectionSettings,
        pool_size: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.retry = RetryPolicy(max_retries=settings.max_retries, budget_seconds=settings.retry_seconds)
        self._sleep = sleep
        self._size = pool_size or settings.pool_size
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._created = 0
        self._lock = threading.Lock()
        self._closed = False
        self._ca_file: str | None = None
        self._server_version: tuple[int, ...] | None = None
        if settings.uses_tls and not settings.verify_certificates:
            # Logged once here instead of a urllib3 warning on every request.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.warning("TLS certificate verification is off for %s", settings.url)
        if settings.ca_certificate:
            self._ca_file = self._write_ca_file(settings.ca_certificate)
            weakref.finalize(self, _remove_file, self._ca_file)

    @staticmethod
    def _write_ca_file(pem: bytes) -> str:
        # The driver only takes a CA *path*. A CA certificate is public material, not batch data.
        handle, path = tempfile.mkstemp(prefix="cratedb-ca-", suffix=".pem")
        with os.fdopen(handle, "wb") as out:
            out.write(pem)
        return path

    def _connect(self) -> Any:
        settings = self.settings
        return connect(
            servers=[settings.url],
            username=settings.username,
            password=settings.password,
            verify_ssl_cert=settings.verify_certificates,
            ca_cert=self._ca_file,
            timeout=settings.request_timeout,
            pool_size=1,
        )

    def _new_connection(self) -> Any:
        holder: list[Any] = []

        def attempt() -> None:
            holder.append(self._connect())

        Session(None, self.retry, self._sleep)._call(attempt, idempotent=True)
        return holder[0]

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """Borrow one connection for the duration of the `with` block."""
        connection = self._acquire()
        broken = False
        try:
            yield Session(connection, self.retry, self._sleep)
        except TransientFailure:
            broken = True
            raise
        finally:
            self._release(connection, broken)

    def _acquire(self) -> Any:
        if self._closed:
            raise RuntimeError("CrateClient is closed")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            create = self._created < self._size
            if create:
                self._created += 1
        if create:
            try:
                return self._new_connection()
            except BaseException:
                with self._lock:
                    self._created -= 1
                raise
        try:
            return self._idle.get(timeout=max(self.settings.request_timeout * 4, 60))
        except queue.Empty:
            raise TransientFailure(f"all {self._size} connections to CrateDB stayed busy") from None

    def _release(self, connection: Any, broken: bool) -> None:
        if broken or self._closed:
            with contextlib.suppress(Exception):
                connection.close()
            with self._lock:
                self._created -= 1
            return
        self._idle.put(connection)

    def server_version(self) -> tuple[int, ...]:
        """Lowest version among the cluster's nodes, e.g. (6, 4, 3), asked with retries and cached only
        once known (the driver's `lowest_server_version` reads 0.0.0 after a failed first request)."""
        if self._server_version is None:
            with self.session() as session:
                versions = [_version_tuple(row[0]) for row in session.query(SERVER_VERSIONS)]
            known = [version for version in versions if any(version)]
            if not known:
                raise TransientFailure("CrateDB did not report the version of any node")
            self._server_version = min(known)
        return self._server_version

    def check_server_version(self) -> tuple[int, ...]:
        version = self.server_version()
        if version < MIN_SERVER_VERSION:
            shown = ".".join(map(str, version)) or "unknown"
            minimum = ".".join(map(str, MIN_SERVER_VERSION))
            raise UnsupportedServer(
                f"CrateDB {shown} is not supported; upgrade to {minimum} or newer. Older versions reject "
                "column names starting with an underscore such as _fivetran_synced and lack CREATE SCHEMA."
            )
        return version

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                break
            with contextlib.suppress(Exception):
                connection.close()
        if self._ca_file:
            _remove_file(self._ca_file)


def _remove_file(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


class ClientCache:
    """One CrateClient per distinct configuration, so pooled connections survive across RPCs."""

    def __init__(self, capacity: int = 8, factory: Callable[[ConnectionSettings], CrateClient] = CrateClient):
        self._capacity = capacity
        self._factory = factory
        self._clients: OrderedDict[ConnectionSettings, CrateClient] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: ConnectionSettings) -> CrateClient:
        with self._lock:
            client = self._clients.get(settings)
            if client is not None:
                self._clients.move_to_end(settings)
                return client
            client = self._factory(settings)
            self._clients[settings] = client
            evicted = []
            while len(self._clients) > self._capacity:
                evicted.append(self._clients.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return client

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            self._clients.clear()
        for client in clients:
            client.close()
