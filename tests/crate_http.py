"""Raw HTTP access to CrateDB's `/_sql` endpoint, for tests that read CrateDB back.

The `crate` driver hides what tests must see: numeric error codes, HTTP statuses, the per-row `results`
of bulk requests and request headers such as `Default-Schema`. This helper speaks the wire format directly
with urllib3 and never retries, so every status reaches the assertion unchanged. It lives in tests/ (on
sys.path because tests/conftest.py is there) so that every suite can import it.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import urllib3


def ident(*parts: str) -> str:
    """Double-quote identifier parts and join them with dots (test SQL only)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


@dataclass(frozen=True)
class SqlResponse:
    """One HTTP response from CrateDB: the status and the decoded JSON body (or the raw text)."""

    status: int
    body: dict[str, Any]
    content_type: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and "error" not in self.body

    @property
    def error(self) -> dict[str, Any]:
        error = self.body.get("error")
        return error if isinstance(error, dict) else {}

    @property
    def code(self) -> int | None:
        return self.error.get("code")

    @property
    def message(self) -> str:
        return str(self.error.get("message", self.body.get("raw", "")))

    @property
    def cols(self) -> list[str]:
        return list(self.body.get("cols", []))

    @property
    def rows(self) -> list[list[Any]]:
        return list(self.body.get("rows", []))

    @property
    def rowcount(self) -> int:
        return int(self.body["rowcount"])

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(self.body.get("results", []))

    def describe(self) -> str:
        return f"HTTP {self.status}: {self.body!r}"[:500]


class CrateHttp:
    """A minimal `/_sql` client. One instance owns one connection pool (and so its TCP connections)."""

    def __init__(self, url: str, *, default_schema: str | None = None, timeout: float = 60.0) -> None:
        parts = urlsplit(url)
        host = parts.hostname or "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        self.base_url = f"{parts.scheme or 'http'}://{host}:{parts.port or 4200}"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if parts.username is not None:
            headers.update(
                urllib3.make_headers(basic_auth=f"{unquote(parts.username)}:{unquote(parts.password or '')}")
            )
        if default_schema is not None:
            headers["Default-Schema"] = default_schema
        self._pool = urllib3.PoolManager(headers=headers, retries=False, timeout=timeout)

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> CrateHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def root(self) -> SqlResponse:
        """`GET /`: node name and version."""
        return self._decode(self._pool.request("GET", self.base_url + "/"))

    def sql(
        self,
        stmt: str,
        args: list[Any] | None = None,
        bulk_args: list[list[Any]] | None = None,
        *,
        types: bool = False,
        error_trace: bool = False,
        gzip_body: bool = False,
    ) -> SqlResponse:
        """POST one statement; `args` and `bulk_args` are sent exactly as given (even both)."""
        payload: dict[str, Any] = {"stmt": stmt}
        if args is not None:
            payload["args"] = args
        if bulk_args is not None:
            payload["bulk_args"] = bulk_args
        flags = [name for name, on in (("types", types), ("error_trace=true", error_trace)) if on]
        path = "/_sql" + ("?" + "&".join(flags) if flags else "")
        body = json.dumps(payload).encode()
        headers = None
        if gzip_body:
            body = gzip.compress(body)
            headers = {**self._pool.headers, "Content-Encoding": "gzip"}
        response = self._pool.request("POST", self.base_url + path, body=body, headers=headers)
        return self._decode(response)

    def run(
        self, stmt: str, args: list[Any] | None = None, bulk_args: list[list[Any]] | None = None
    ) -> SqlResponse:
        """Like `sql`, but the statement must succeed."""
        response = self.sql(stmt, args, bulk_args)
        assert response.ok, f"{stmt[:200]!r} failed: {response.describe()}"
        return response

    def refresh(self, *tables: str) -> None:
        """`REFRESH TABLE` for already-quoted table references."""
        self.run("REFRESH TABLE " + ", ".join(tables))

    # -- reading a test's tables back ---------------------------------------------------------------------

    def rows(
        self, schema: str, name: str, columns: Sequence[str], order_by: str | Sequence[str] | None = None
    ) -> list[list[Any]]:
        """The columns of every row after a REFRESH, ordered by `order_by` (default: the first column)."""
        order = [order_by] if isinstance(order_by, str) else list(order_by or columns[:1])
        self.refresh(ident(schema, name))
        selected = ", ".join(ident(c) for c in columns)
        ordering = ", ".join(ident(c) for c in order)
        return self.run(f"SELECT {selected} FROM {ident(schema, name)} ORDER BY {ordering}").rows

    def count(self, schema: str, name: str) -> int:
        self.refresh(ident(schema, name))
        return int(self.run(f"SELECT count(*) FROM {ident(schema, name)}").rows[0][0])

    def tables(self, schema: str) -> list[str]:
        response = self.run(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in response.rows]

    def columns(self, schema: str, name: str) -> list[str]:
        response = self.run(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, name],
        )
        return [row[0] for row in response.rows]

    @staticmethod
    def _decode(response: urllib3.BaseHTTPResponse) -> SqlResponse:
        text = response.data.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            body = {"raw": text}
        if not isinstance(body, dict):
            body = {"raw": body}
        content_type = response.headers.get("Content-Type", "")
        return SqlResponse(status=response.status, body=body, content_type=content_type)


def drop_schema_contents(http: CrateHttp, schema: str) -> None:
    """Drop every table of a test schema, then the schema itself if it was created explicitly."""
    tables = http.sql(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE'",
        [schema],
    )
    for (name,) in tables.rows:
        http.sql(f"DROP TABLE IF EXISTS {ident(schema, name)}")
    left = http.sql("SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", [schema])
    if left.rows:
        http.sql(f"DROP SCHEMA {ident(schema)}")
