"""Shared helpers of the reliability suite: a gRPC-driving client, batch files built byte by byte, raw
CrateDB reads, the destination as a subprocess, and a TLS front for the emulator.

Batch files come in two flavours: `Dest.batch` writes a correct file exactly as Fivetran's core does
(CSV -> zstd -> AES-256-CBC, via `fivetran_e2e.batch_writer`), while `encode` assembles arbitrary bytes
(broken CSV, the wrong compression, a bad padding) so every layer of the reader can be fed bad input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import ipaddress
import itertools
import json
import os
import secrets
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil
import urllib3
import zstandard
from cratedb_destination.batch import Cell, FileFormat
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from fivetran_e2e.batch_writer import new_key, random_token, write_batch_file
from fivetran_proto import common_pb2, destination_sdk_pb2, destination_sdk_pb2_grpc

MAX_MESSAGE = 134_217_728
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    ("grpc.max_send_message_length", MAX_MESSAGE),
]
SYNCED = "2024-03-01T10:00:00.000Z"
SYNCED_LATER = "2024-03-02T10:00:00.000Z"
# A row value that must never show up in a log line or an error message.
ROW_SECRET = "ROWVALUE-9f2c"

ColumnDef = tuple[Any, ...]  # (name, TYPE NAME[, primary key[, params]])


# ---------------------------------------------------------------------------------------------------------
# Protobuf shorthands
# ---------------------------------------------------------------------------------------------------------


def column(name: str, type_name: str | int, primary_key: bool = False, params: Any = None) -> Any:
    data_type: Any = common_pb2.DataType.Value(type_name) if isinstance(type_name, str) else type_name
    proto = common_pb2.Column(name=name, type=data_type, primary_key=primary_key)
    if isinstance(params, tuple):
        proto.params.decimal.precision, proto.params.decimal.scale = params
    elif isinstance(params, int):
        proto.params.string_byte_length = params
    return proto


def table(name: str, columns: Sequence[ColumnDef]) -> Any:
    return common_pb2.Table(name=name, columns=[column(*spec) for spec in columns])


def names(columns: Sequence[ColumnDef]) -> list[str]:
    return [spec[0] for spec in columns]


def proto_timestamp(value: dt.datetime) -> Any:
    from google.protobuf import timestamp_pb2

    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def file_params(fmt: FileFormat) -> Any:
    return destination_sdk_pb2.FileParams(
        compression={"off": 0, "zstd": 1, "gzip": 2}[fmt.compression],  # type: ignore[arg-type]
        encryption={"none": 0, "aes": 1}[fmt.encryption],  # type: ignore[arg-type]
        null_string=fmt.null_string,
        unmodified_string=fmt.unmodified_string,
    )


def new_format(compression: str = "zstd", encryption: str = "aes", kind: str = "csv") -> FileFormat:
    return FileFormat(
        compression,  # type: ignore[arg-type]
        encryption,  # type: ignore[arg-type]
        random_token("null"),
        random_token("unmod"),
        kind,  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------------------
# Outcomes: success, Task, Warning or gRPC status
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one RPC answered: kind is "success", "task", "warning", "not_found", "table" or a gRPC code."""

    kind: str
    message: str = ""
    response: Any = None

    @property
    def failed(self) -> bool:
        return self.kind not in ("success", "warning", "not_found", "table")


def call(rpc: Callable[..., Any], request: Any, timeout: float = 120.0) -> Outcome:
    """Run an RPC and classify its answer without raising."""
    try:
        response = rpc(request, timeout=timeout)
    except grpc.RpcError as error:
        return Outcome(error.code().name, error.details() or "")
    kind = response.WhichOneof("response")
    if kind == "failure":  # TestResponse
        return Outcome("failure", response.failure, response)
    if kind == "task":
        return Outcome("task", response.task.message, response)
    if kind == "warning":
        return Outcome("warning", response.warning.message, response)
    if kind == "success" and not response.success:
        return Outcome("false", "success=false", response)
    return Outcome(kind or "empty", "", response)


# ---------------------------------------------------------------------------------------------------------
# Reading CrateDB back over raw HTTP (works against the emulator and a real CrateDB alike)
# ---------------------------------------------------------------------------------------------------------


def ident(*parts: str) -> str:
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)


class CrateReader:
    """A minimal, never-retrying `/_sql` client for assertions."""

    def __init__(self, url: str) -> None:
        parts = urllib3.util.parse_url(url)
        self.base = f"{parts.scheme}://{parts.host}:{parts.port or 4200}"
        headers = {"Content-Type": "application/json"}
        if parts.auth:
            headers.update(urllib3.make_headers(basic_auth=parts.auth))
        self._pool = urllib3.PoolManager(headers=headers, retries=False, timeout=60.0)

    def sql(self, stmt: str, args: Sequence[Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"stmt": stmt, "args": list(args or [])}).encode()
        response = self._pool.request("POST", self.base + "/_sql", body=body)
        document = json.loads(response.data or b"{}")
        if response.status != 200 or "error" in document:
            raise AssertionError(f"{stmt[:120]!r} failed: HTTP {response.status} {document}")
        return document

    def rows(
        self, schema: str, name: str, columns: Sequence[str], order_by: str | None = None
    ) -> list[list[Any]]:
        """All rows, ordered by the first column (or `order_by`), after a REFRESH."""
        self.sql(f"REFRESH TABLE {ident(schema, name)}")
        selected = ", ".join(ident(c) for c in columns)
        order = ident(order_by or columns[0])
        return [
            list(row)
            for row in self.sql(f"SELECT {selected} FROM {ident(schema, name)} ORDER BY {order}")["rows"]
        ]

    def count(self, schema: str, name: str) -> int:
        self.sql(f"REFRESH TABLE {ident(schema, name)}")
        return int(self.sql(f"SELECT count(*) FROM {ident(schema, name)}")["rows"][0][0])

    def tables(self, schema: str) -> list[str]:
        document = self.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name",
            [schema],
        )
        return [row[0] for row in document["rows"]]

    def columns(self, schema: str, name: str) -> list[str]:
        document = self.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "ORDER BY ordinal_position",
            [schema, name],
        )
        return [row[0] for row in document["rows"]]

    def drop_schema(self, schema: str) -> None:
        for name in self.tables(schema):
            self.sql(f"DROP TABLE IF EXISTS {ident(schema, name)}")
        document = self.sql(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ?", [schema]
        )
        if document["rows"]:
            self.sql(f"DROP SCHEMA {ident(schema)}")

    def close(self) -> None:
        self._pool.clear()


# ---------------------------------------------------------------------------------------------------------
# Batch-file bytes
# ---------------------------------------------------------------------------------------------------------


def aes_encrypt(plain: bytes, key: bytes, iv: bytes | None = None, pad: bool = True) -> bytes:
    """IV + AES-256-CBC ciphertext; `pad=False` requires a multiple of 16 and adds no PKCS#7 padding."""
    from cryptography.hazmat.primitives import padding

    iv = iv if iv is not None else os.urandom(16)
    if pad:
        padder = padding.PKCS7(128).padder()
        plain = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return iv + encryptor.update(plain) + encryptor.finalize()


def aes_decrypt_raw(data: bytes, key: bytes) -> bytes:
    decryptor = Cipher(algorithms.AES(key), modes.CBC(data[:16])).decryptor()
    return decryptor.update(data[16:]) + decryptor.finalize()


def zstd_compress(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=False).compress(data)


def gzip_compress(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def encode(plain: bytes, fmt: FileFormat, key: bytes | None) -> bytes:
    """Compress, then encrypt, as the format says (what Fivetran's core does)."""
    data = {"off": lambda b: b, "zstd": zstd_compress, "gzip": gzip_compress}[fmt.compression](plain)
    if fmt.encryption == "aes":
        assert key is not None
        data = aes_encrypt(data, key)
    return data


def csv_text(columns: Sequence[str], rows: Iterable[Sequence[Cell]], fmt: FileFormat) -> str:
    """CSV in Fivetran's dialect (header quoted, empty strings quoted, tokens for NULL/unmodified)."""
    from cratedb_destination.batch import UNMODIFIED

    def cell_text(cell: Cell) -> str:
        if cell is None:
            return fmt.null_string
        if cell is UNMODIFIED:
            return fmt.unmodified_string
        text = str(cell)
        if text == "" or any(ch in text for ch in ',"\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [",".join('"' + name + '"' for name in columns)]
    lines += [",".join(cell_text(cell) for cell in row) for row in rows]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------
# Driving the destination
# ---------------------------------------------------------------------------------------------------------


@dataclass
class BatchRef:
    path: str
    key: bytes | None


@dataclass
class Dest:
    """One test's client of the destination: its own schema and files, and raw reads of CrateDB."""

    stub: destination_sdk_pb2_grpc.DestinationConnectorStub
    url: str
    schema: str
    tmp: Path
    configuration: dict[str, str] = field(default_factory=dict)
    fmt: FileFormat = field(default_factory=new_format)
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        if not self.configuration:
            self.configuration = {"url": self.url}
        self.reader = CrateReader(self.url)

    # -- files -------------------------------------------------------------------------------------------

    def new_path(self, suffix: str = ".csv.zst.aes") -> str:
        return str(self.tmp / f"batch_{next(self._counter)}{suffix}")

    def batch(
        self, columns: Sequence[str], rows: Iterable[Sequence[Cell]], fmt: FileFormat | None = None
    ) -> BatchRef:
        fmt = fmt or self.fmt
        path = self.new_path()
        key = new_key() if fmt.encryption == "aes" else None
        write_batch_file(path, columns, rows, fmt=fmt, key=key)
        return BatchRef(path, key)

    def raw_batch(self, data: bytes, key: bytes | None = None) -> BatchRef:
        path = self.new_path(".bin")
        Path(path).write_bytes(data)
        return BatchRef(path, key)

    def text_batch(self, text: str, fmt: FileFormat | None = None) -> BatchRef:
        """A file holding `text` (may be broken CSV), compressed and encrypted as the format says."""
        fmt = fmt or self.fmt
        key = new_key() if fmt.encryption == "aes" else None
        return self.raw_batch(encode(text.encode("utf-8"), fmt, key), key)

    # -- requests ------------------------------------------------------------------------------------------

    def write_request(
        self,
        definition: Any,
        replace: Sequence[BatchRef] = (),
        update: Sequence[BatchRef] = (),
        delete: Sequence[BatchRef] = (),
        fmt: FileFormat | None = None,
        keys: Mapping[str, bytes] | None = None,
        schema: str | None = None,
    ) -> Any:
        if keys is None:
            keys = {ref.path: ref.key for ref in (*replace, *update, *delete) if ref.key is not None}
        return destination_sdk_pb2.WriteBatchRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table=definition,
            keys=keys,
            replace_files=[ref.path for ref in replace],
            update_files=[ref.path for ref in update],
            delete_files=[ref.path for ref in delete],
            file_params=file_params(fmt or self.fmt),
        )

    def create(self, definition: Any, schema: str | None = None) -> Outcome:
        request = destination_sdk_pb2.CreateTableRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table=definition,
        )
        return call(self.stub.CreateTable, request)

    def describe(self, name: str, schema: str | None = None) -> Outcome:
        request = destination_sdk_pb2.DescribeTableRequest(
            configuration=self.configuration,
            schema_name=self.schema if schema is None else schema,
            table_name=name,
        )
        return call(self.stub.DescribeTable, request)

    def write(self, definition: Any, **files: Any) -> Outcome:
        return call(self.stub.WriteBatch, self.write_request(definition, **files))

    def rows(self, name: str, columns: Sequence[str], order_by: str | None = None) -> list[list[Any]]:
        return self.reader.rows(self.schema, name, columns, order_by)

    def assert_serving(self, name: str | None = None) -> None:
        """The server still answers: Capabilities, and DescribeTable of a table (or a missing one)."""
        capabilities = self.stub.Capabilities(destination_sdk_pb2.CapabilitiesRequest(), timeout=30)
        assert capabilities.batch_file_format in (destination_sdk_pb2.CSV, destination_sdk_pb2.PARQUET)
        described = self.describe(name or "no_such_table_here")
        assert described.kind == ("table" if name else "not_found"), described


def ok(outcome: Outcome) -> None:
    assert outcome.kind == "success", f"expected success, got {outcome.kind}: {outcome.message}"


def stub_for(port: int) -> tuple[grpc.Channel, destination_sdk_pb2_grpc.DestinationConnectorStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
    return channel, destination_sdk_pb2_grpc.DestinationConnectorStub(channel)


# ---------------------------------------------------------------------------------------------------------
# The destination as a subprocess (for SIGKILL, RSS and log capture)
# ---------------------------------------------------------------------------------------------------------


class DestinationProcess:
    """`cratedb-fivetran-destination --port 0` with stdout and stderr captured into files."""

    def __init__(self, log_dir: Path, log_level: str = "INFO", extra_args: Sequence[str] = ()) -> None:
        script = Path(sys.executable).with_name("cratedb-fivetran-destination")
        self.stdout_path = log_dir / f"destination-{secrets.token_hex(4)}.out"
        self.stderr_path = self.stdout_path.with_suffix(".err")
        self._stdout = open(self.stdout_path, "wb")  # noqa: SIM115 - closed in stop()
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(script), "--port", "0", "--host", "127.0.0.1", "--log-level", log_level, *extra_args],
            stdout=self._stdout,
            stderr=self._stderr,
        )
        self.ps = psutil.Process(self.process.pid)
        self.port = self._await_port()
        self.channel, self.stub = stub_for(self.port)
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def _await_port(self) -> int:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"destination exited early: {self.output()}")
            try:
                listening = [
                    c.laddr.port for c in self.ps.net_connections("tcp") if c.status == psutil.CONN_LISTEN
                ]
            except psutil.Error:
                listening = []
            if listening:
                return int(listening[0])
            time.sleep(0.05)
        raise RuntimeError("destination did not start listening within 60 s")

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def output(self) -> str:
        for handle in (self._stdout, self._stderr):
            handle.flush()
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._stdout.close()
        self._stderr.close()

    def __enter__(self) -> DestinationProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------------------
# TLS: a self-signed CA, a server certificate, and a TLS front for the (plain HTTP) emulator
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def make_certificates(common_name: str = "Reliability Test CA") -> Certificates:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


class TlsFront:
    """Terminates TLS on a free port and pipes each connection to a plain TCP backend (the emulator)."""

    def __init__(
        self, certificates: Certificates, backend_port: int, directory: Path, backend_host: str = "127.0.0.1"
    ) -> None:
        cert_file = directory / "server.pem"
        cert_file.write_bytes(certificates.cert_pem + certificates.key_pem)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_file)
        self._backend = (backend_host, backend_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.handshake_failures = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            secure = self._context.wrap_socket(client, server_side=True)
        except (ssl.SSLError, OSError):
            self.handshake_failures += 1
            client.close()
            return
        backend = socket.create_connection(self._backend)
        # One thread per connection moves bytes both ways: an SSL socket must not be read and written
        # from two threads at once.
        try:
            while True:
                if not secure.pending():
                    readable, _, _ = select.select([secure, backend], [], [], 30)
                    if not readable:
                        return
                else:
                    readable = [secure]
                if secure in readable:
                    data = secure.recv(65536)
                    if not data:
                        return
                    backend.sendall(data)
                if backend in readable:
                    data = backend.recv(65536)
                    if not data:
                        return
                    secure.sendall(data)
        except OSError:
            return
        finally:
            for end in (secure, backend):
                with contextlib.suppress(OSError):
                    end.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
