"""How a batch file is encoded, decoupled from the protobuf `FileParams` message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import BatchFileError

Compression = Literal["off", "zstd", "gzip"]
Encryption = Literal["none", "aes"]
Kind = Literal["csv", "parquet"]

# Enum numbers of fivetran_sdk.v2 Compression / Encryption / BatchFileFormat. Kept here as plain numbers
# so that reading batch files does not need the generated protobuf modules (only `to_proto` imports them).
_COMPRESSION_BY_NUMBER: dict[int, Compression] = {0: "off", 1: "zstd", 2: "gzip"}
_ENCRYPTION_BY_NUMBER: dict[int, Encryption] = {0: "none", 1: "aes"}
_KIND_BY_NUMBER: dict[int, Kind] = {0: "csv", 1: "parquet"}

AES_KEY_BYTES = 32


@dataclass(frozen=True)
class FileFormat:
    """Compression, encryption, file kind and the two per-sync tokens shared by all files of a request.

    `null_string` and `unmodified_string` are matched by exact equality with a whole cell. Should they be
    equal (e.g. both empty because a client left `FileParams` unset), a matching cell reads as NULL.
    """

    compression: Compression
    encryption: Encryption
    null_string: str
    unmodified_string: str
    kind: Kind = "csv"

    def __post_init__(self) -> None:
        if self.compression not in _COMPRESSION_BY_NUMBER.values():
            raise ValueError(f"unknown compression {self.compression!r}")
        if self.encryption not in _ENCRYPTION_BY_NUMBER.values():
            raise ValueError(f"unknown encryption {self.encryption!r}")
        if self.kind not in _KIND_BY_NUMBER.values():
            raise ValueError(f"unknown batch file kind {self.kind!r}")

    @classmethod
    def from_proto(cls, file_params: Any, kind: Kind | int = "csv") -> FileFormat:
        """Build from a `fivetran_sdk.v2.FileParams` message.

        `kind` is what Capabilities announced: "csv"/"parquet" or the `BatchFileFormat` enum number.
        """
        compression = _COMPRESSION_BY_NUMBER.get(int(file_params.compression))
        if compression is None:
            raise ValueError(f"unknown FileParams.compression value {file_params.compression}")
        encryption = _ENCRYPTION_BY_NUMBER.get(int(file_params.encryption))
        if encryption is None:
            raise ValueError(f"unknown FileParams.encryption value {file_params.encryption}")
        if isinstance(kind, int):
            resolved = _KIND_BY_NUMBER.get(kind)
            if resolved is None:
                raise ValueError(f"unknown BatchFileFormat value {kind}")
            kind = resolved
        return cls(
            compression=compression,
            encryption=encryption,
            null_string=file_params.null_string,
            unmodified_string=file_params.unmodified_string,
            kind=kind,
        )

    def to_proto(self) -> Any:
        """The `fivetran_sdk.v2.FileParams` a client sends for files of this format (the inverse of
        `from_proto`; the kind is not part of FileParams but of what Capabilities announced)."""
        from fivetran_proto import destination_sdk_pb2  # here, not at the top: see the enum numbers

        # Our names are the enum value names in lower case ("gzip" is GZIP = 2).
        return destination_sdk_pb2.FileParams(
            compression=self.compression.upper(),
            encryption=self.encryption.upper(),
            null_string=self.null_string,
            unmodified_string=self.unmodified_string,
        )


def key_for(keys: Mapping[str, bytes], path: str) -> bytes:
    """The AES key Fivetran sent for `path`, looked up by the exact path string of the file list."""
    key = keys.get(path)
    if key is None:
        raise BatchFileError(path, "the request carries no decryption key for this file")
    check_key(path, key)
    return bytes(key)


def check_key(path: str, key: bytes) -> None:
    if len(key) != AES_KEY_BYTES:
        raise BatchFileError(path, f"decryption key has {len(key)} bytes, AES-256 needs {AES_KEY_BYTES}")
