"""Helpers of the reliability suite on top of `destination_testkit`: answers classified as `Outcome`s,
batch files built byte by byte, the destination as a subprocess, and a TLS front for the emulator.

Batch files come in two flavours: `Dest.batch` writes a correct file exactly as Fivetran's core does
(CSV -> zstd -> AES-256-CBC, via `fivetran_e2e.batch_writer`), while `encode` assembles arbitrary bytes
(broken CSV, the wrong compression, a bad padding) so every layer of the reader can be fed bad input.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import ipaddress
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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psutil
import zstandard
from crate_http import CrateHttp
from cratedb_destination.batch import Cell, FileFormat
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID
from destination_testkit import BatchRef, DestinationClient
from fivetran_e2e.batch_writer import new_key
from fivetran_e2e.destination_client import connect
from fivetran_proto import destination_sdk_pb2

SYNCED = "2024-03-01T10:00:00.000Z"
SYNCED_LATER = "2024-03-02T10:00:00.000Z"
# A row value that must never show up in a log line or an error message.
ROW_SECRET = "ROWVALUE-9f2c"


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
class Dest(DestinationClient):
    """One test's client of the destination: RPCs answer an `Outcome`; `reader` reads CrateDB back."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.reader = CrateHttp(self.url)

    def raw_batch(self, data: bytes, key: bytes | None = None) -> BatchRef:
        path = self.new_path(".bin")
        Path(path).write_bytes(data)
        return BatchRef(path, key)

    def text_batch(self, text: str, fmt: FileFormat | None = None) -> BatchRef:
        """A file holding `text` (may be broken CSV), compressed and encrypted as the format says."""
        fmt = fmt or self.fmt
        key = new_key() if fmt.encryption == "aes" else None
        return self.raw_batch(encode(text.encode("utf-8"), fmt, key), key)

    def create(self, definition: Any, schema: str | None = None) -> Outcome:
        return call(self.stub.CreateTable, self.create_request(definition, schema))

    def describe(self, name: str, schema: str | None = None) -> Outcome:
        return call(self.stub.DescribeTable, self.describe_request(name, schema))

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
        self.channel, self.stub = connect(f"127.0.0.1:{self.port}")
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
