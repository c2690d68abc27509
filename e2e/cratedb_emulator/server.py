"""CrateDB's HTTP endpoint (`GET /`, `POST /_sql`) on a threaded server, plus the emulator's admin routes.

Admin routes (not part of CrateDB): `GET /_emulator/stats`, `POST /_emulator/stats/reset`,
`GET|POST|DELETE /_emulator/faults`, `GET|POST|DELETE /_emulator/cost`.

With a cost model (`cost.py`) every request to a CrateDB route sleeps, just before its answer is written,
for the modelled server time of the work it did; the statement has run and released the engine's locks.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import gzip
import re
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from . import errors, results
from .cost import OFF, CostModel
from .engine import Engine, Session
from .faults import Faults
from .versions import DEFAULT_VERSION

DEFAULT_MAX_CONTENT_LENGTH = 100 * 1024 * 1024
_FIRST_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(?\s*([A-Za-z]+)", re.DOTALL)


def _statement_kind(stmt: str) -> str:
    match = _FIRST_WORD.match(stmt)
    word = match.group(1).upper() if match else ""
    return {"WITH": "SELECT", "VALUES": "SELECT", "START": "BEGIN", "END": "COMMIT"}.get(word, word)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], emulator: Emulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CrateDB-Emulator"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.session: Session | None = None
        self._sql_started: float | None = None
        self._work: Counter[str] | None = None
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return  # requests are counted in stats; never log statements or row data

    @property
    def emulator(self) -> Emulator:
        return self.server.emulator

    # ---- responses ---------------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=UTF-8",
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        self._count_sql_time()
        self._pay_cost()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    @contextlib.contextmanager
    def _request(self) -> Iterator[None]:
        """Collect the statistics this request adds, for the cost model (not for admin routes)."""
        with self.emulator.engine.stats.track() as work:
            if not urlsplit(self.path).path.startswith("/_emulator/"):
                self._work = work
            try:
                yield
            finally:
                self._work = None

    def _pay_cost(self) -> None:
        """Sleep for the modelled server time of this request's work, once, before its answer leaves.

        Nothing is locked here: the statement has finished, so other connections are served meanwhile.
        """
        work, self._work = self._work, None
        model = self.emulator.cost
        if work is not None and model.enabled:
            self.emulator.engine.stats.cost_time(model.apply(work))

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, results.dumps(payload))

    def _send_error(self, error: errors.CrateError, trace: bool = False) -> None:
        self.emulator.engine.stats.error(error.code)
        payload: dict[str, Any] = {"error": error.payload()}
        if trace:
            payload["error_trace"] = f"{error.message}\n\tat emulator"
        self._send_json(error.http_status, payload)

    # ---- authentication --------------------------------------------------------------------------------
    def _authenticate(self) -> str | None:
        """The user of this request, or None after answering 401 like CrateDB."""
        emulator = self.emulator
        header = self.headers.get("Authorization", "")
        user = None
        password = None
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        elif self.headers.get("X-User"):
            user = self.headers["X-User"]
        if emulator.user is None:
            return user or "crate"
        shown = user or "crate"
        if user != emulator.user or (emulator.password is not None and password != emulator.password):
            self.emulator.engine.stats.error(errors.UNAUTHORIZED)
            self._send(
                401,
                f'password authentication failed for user "{shown}"\n'.encode(),
                content_type="text/plain; charset=UTF-8",
                headers={"WWW-Authenticate": 'Basic realm="CrateDB Authenticator"'},
                close=True,
            )
            return None
        return user

    def _session(self, user: str) -> Session:
        # CrateDB creates the SQL context once per connection and reads Default-Schema only then.
        if self.session is None or self.session.user != user:
            schema = self.headers.get("Default-Schema") or "doc"
            self.session = Session(default_schema=schema, user=user)
        return self.session

    # ---- routes ---------------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        with self._request():
            self._get()

    def _get(self) -> None:
        self.emulator.engine.stats.count("http_requests")
        path = urlsplit(self.path).path
        if path == "/_emulator/stats":
            self._send_json(200, self.emulator.stats())
            return
        if path == "/_emulator/faults":
            self._send_json(200, self.emulator.faults.describe())
            return
        if path == "/_emulator/cost":
            self._send_json(200, self.emulator.cost.describe())
            return
        if path != "/":
            self._send_json(404, {"error": {"message": f"No handler found for uri [{path}]", "code": 4040}})
            return
        if self._authenticate() is None:
            return
        version = self.emulator.engine.version
        self._send_json(
            200,
            {
                "ok": True,
                "status": 200,
                "name": "emulator",
                "cluster_name": "crate",
                "version": {
                    "number": str(version),
                    "build_hash": "0" * 40,
                    "build_timestamp": "2026-08-19T00:00:00Z",
                    "build_snapshot": False,
                    "lucene_version": "9.12.1",
                },
            },
        )

    def do_DELETE(self) -> None:
        with self._request():
            self._delete()

    def _delete(self) -> None:
        self.emulator.engine.stats.count("http_requests")
        self._drain()
        path = urlsplit(self.path).path
        if path == "/_emulator/faults":
            self.emulator.faults.clear()
            self._send_json(200, self.emulator.faults.describe())
            return
        if path == "/_emulator/cost":
            self.emulator.cost = OFF
            self._send_json(200, self.emulator.cost.describe())
            return
        self._send_json(404, {"error": {"message": "No handler found", "code": 4040}})

    def _drain(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_POST(self) -> None:
        with self._request():
            self._post()

    def _post(self) -> None:
        stats = self.emulator.engine.stats
        stats.count("http_requests")
        parts = urlsplit(self.path)
        if parts.path.startswith("/_emulator/"):
            self._admin(parts.path)
            return
        if parts.path not in ("/_sql", "/_sql/"):
            self._drain()
            self._send_json(
                404, {"error": {"message": f"No handler found for uri [{parts.path}]", "code": 4040}}
            )
            return
        self._sql_started = time.perf_counter()
        try:
            self._sql(parts.query)
        finally:
            self._count_sql_time()

    def _count_sql_time(self) -> None:
        """Add the time of the /_sql request under way before its answer leaves.

        Counted before the first byte is written, so a client that has its answer also sees it counted.
        """
        if self._sql_started is not None:
            self.emulator.engine.stats.sql_time(time.perf_counter() - self._sql_started)
            self._sql_started = None

    def _sql(self, query_string: str) -> None:
        stats = self.emulator.engine.stats
        query = parse_qs(query_string, keep_blank_values=True)
        with_types = "types" in query and query["types"][-1].lower() in ("", "true")
        trace = "error_trace" in query and query["error_trace"][-1].lower() in ("", "true")
        length = int(self.headers.get("Content-Length") or 0)
        limit = self.emulator.max_content_length
        if length > limit:
            self._send(413, b"", content_type="text/plain", close=True)
            return
        raw = self.rfile.read(length) if length else b""
        stats.count("bytes_received", len(raw))
        user = self._authenticate()
        if user is None:
            return
        stats.count("sql_requests")
        try:
            body = self._decode(raw, limit)
        except _TooLarge:
            self._send(413, b"", content_type="text/plain", close=True)
            return
        except errors.CrateError as exc:
            self._send_error(exc, trace)
            return
        stats.count("bytes_decompressed", len(body))
        try:
            stmt, args, bulk_args = _request_fields(body)
        except errors.CrateError as exc:
            self._send_error(exc, trace)
            return
        self._run(self._session(user), stmt, args, bulk_args, with_types, trace)

    def _decode(self, raw: bytes, limit: int) -> bytes:
        encoding = (self.headers.get("Content-Encoding") or "").lower().strip()
        try:
            if encoding == "gzip":
                body = gzip.decompress(raw)
            elif encoding == "deflate":
                body = zlib.decompress(raw)
            else:
                body = raw
        except (OSError, zlib.error, EOFError):
            raise errors.parse_error("Failed to decompress the request body") from None
        if len(body) > limit:
            raise _TooLarge()
        return body

    def _run(
        self,
        session: Session,
        stmt: str,
        args: list[Any] | None,
        bulk_args: list[list[Any]] | None,
        with_types: bool,
        trace: bool,
    ) -> None:
        emulator = self.emulator
        stats = emulator.engine.stats
        kind = _statement_kind(stmt)
        preset: dict[int, errors.CrateError] = {}
        for rule in emulator.faults.pick(kind, bulk_args is not None):
            stats.count("faults_injected")
            if rule.kind == "reset":
                self._reset_connection()
                return
            if rule.kind == "http_503":
                self._send_error(rule.error(), trace)
                return
            if rule.kind == "delay":
                time.sleep(rule.delay_ms / 1000.0)
            if rule.kind == "bulk_row_failure" and bulk_args is not None:
                for row, error in emulator.faults.failing_rows(rule, len(bulk_args)).items():
                    preset.setdefault(row, error)
        if bulk_args is not None:
            stats.count("bulk_requests")
            stats.count("bulk_rows", len(bulk_args))
        started = time.perf_counter()
        try:
            outcome = emulator.engine.execute(session, stmt, args, bulk_args, preset)
        except errors.CrateError as exc:
            self._send_error(exc, trace)
            return
        except Exception as exc:  # a bug in the emulator must still answer like a server error
            traceback.print_exc(file=sys.stderr)
            self._send_error(
                errors.CrateError(errors.INTERNAL, "SQLActionException", f"emulator failure: {exc!r}"), trace
            )
            return
        duration = (time.perf_counter() - started) * 1000.0
        payload: dict[str, Any]
        if outcome.results is not None:
            payload = {"cols": [], "duration": duration, "results": outcome.results}
            if with_types:
                payload["col_types"] = []
        else:
            payload = {
                "cols": outcome.cols,
                "rows": outcome.rows,
                "rowcount": outcome.rowcount,
                "duration": duration,
            }
            if with_types:
                payload["col_types"] = outcome.col_types
        self._send_json(200, payload)

    def _reset_connection(self) -> None:
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def _admin(self, path: str) -> None:
        raw = self._drain()
        emulator = self.emulator
        if path in ("/_emulator/stats/reset", "/_emulator/reset_stats"):
            emulator.reset_stats()
            self._send_json(200, emulator.stats())
            return
        if path == "/_emulator/faults":
            try:
                document = orjson.loads(raw or b"{}")
                if not isinstance(document, dict):
                    raise ValueError("expected a JSON object")
                emulator.faults.configure(document)
            except (ValueError, TypeError) as exc:
                self._send_json(
                    400, {"error": {"message": f"invalid fault configuration: {exc}", "code": 4000}}
                )
                return
            self._send_json(200, emulator.faults.describe())
            return
        if path == "/_emulator/cost":
            try:
                document = orjson.loads(raw or b"{}")
                if not isinstance(document, dict):
                    raise ValueError("expected a JSON object")
                emulator.cost = CostModel.from_dict(document)
            except (ValueError, TypeError) as exc:
                self._send_json(400, {"error": {"message": f"invalid cost model: {exc}", "code": 4000}})
                return
            self._send_json(200, emulator.cost.describe())
            return
        self._send_json(404, {"error": {"message": f"No handler found for uri [{path}]", "code": 4040}})


class _TooLarge(Exception):
    pass


def _request_fields(body: bytes) -> tuple[str, list[Any] | None, list[list[Any]] | None]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise errors.parse_error(
            f"Failed to parse source [{body[:200].decode('utf-8', 'replace')}]: {exc}"
        ) from None
    if not isinstance(document, dict):
        raise errors.parse_error("Failed to parse source: the request body must be a JSON object")
    stmt = document.get("stmt")
    if not isinstance(stmt, str) or not stmt.strip():
        raise errors.parse_error("Field [stmt] was not found")
    args = document.get("args")
    bulk_args = document.get("bulk_args")
    if args is not None and not isinstance(args, list):
        raise errors.parse_error("Field [args] must be an array")
    if bulk_args is not None and not (isinstance(bulk_args, list) and set(map(type, bulk_args)) <= {list}):
        raise errors.parse_error("Field [bulk_args] must be an array of arrays")
    if args and bulk_args:
        raise errors.parse_error("request body contains args and bulk_args. It's forbidden to provide both")
    return stmt, args, bulk_args


class Emulator:
    """An in-process CrateDB stand-in. Use as a context manager or call start()/stop().

    `strict` fails non-primary-key reads of tables written since their last REFRESH TABLE; `strict=False`
    models the periodic refresh instead. `data` keeps tables in a DuckDB file (catalog included).
    `user`/`password` turn on Basic authentication. `seed` seeds the fault-injection RNG. `cost` makes
    every answer wait for the modelled server time of its work (`cost.py`; off by default); replace
    `emulator.cost` at any time.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        version: str = DEFAULT_VERSION,
        strict: bool = True,
        data: str | None = None,
        user: str | None = None,
        password: str | None = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        seed: int = 0,
        cost: CostModel | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.max_content_length = max_content_length
        self.engine = Engine(version=version, strict=strict, data=data)
        self.faults = Faults(seed)
        self.cost: CostModel = cost if cost is not None else OFF
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> Emulator:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self)
        self.port = int(self._server.server_address[1])
        self.engine.url = self.url
        self.engine.port = self.port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="cratedb-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the database (an emulator is not restartable)."""
        server, self._server = self._server, None
        if server is None:
            self.engine.close()
            return
        server.shutdown()
        with server.connections_lock:
            for connection in list(server.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.engine.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- in-process use --------------------------------------------------------------------------------
    def execute(
        self,
        stmt: str,
        args: list[Any] | None = None,
        bulk_args: list[list[Any]] | None = None,
        schema: str = "doc",
    ) -> dict[str, Any]:
        """Run one statement without HTTP; returns CrateDB's JSON answer (raises CrateError)."""
        outcome = self.engine.execute(Session(default_schema=schema), stmt, args, bulk_args)
        if outcome.results is not None:
            return {"cols": [], "results": [dict(item) for item in outcome.results]}
        document = {
            "cols": outcome.cols,
            "rows": outcome.rows,
            "rowcount": outcome.rowcount,
            "col_types": outcome.col_types,
        }
        return orjson.loads(results.dumps(document))

    def stats(self) -> dict[str, Any]:
        return self.engine.stats.snapshot({"stale_reads": self.engine.tracker.stale_reads})

    def reset_stats(self) -> None:
        self.engine.stats.reset()
        self.engine.tracker.stale_reads = 0
