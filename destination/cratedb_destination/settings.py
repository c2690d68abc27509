"""Process-wide settings chosen on the command line, shared by the server and the RPC handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BatchFileFormat = Literal["csv", "parquet"]
BATCH_FILE_FORMATS: tuple[BatchFileFormat, ...] = ("csv", "parquet")

DEFAULT_HOST = ""  # empty = every IPv6 and IPv4 address
DEFAULT_PORT = 50052
# Fivetran documents no concurrency contract; 16 threads serve well over the 8 simultaneous RPCs we
# must handle while leaving headroom for health checks and slow CrateDB round trips.
DEFAULT_MAX_WORKERS = 16
# Fivetran's limit for gRPC messages in both directions (128 MiB).
MAX_MESSAGE_BYTES = 134_217_728
# gRPC channel options for that limit: the server's, and every client's (`fivetran_e2e.destination_client`),
# since a client keeping gRPC's 4 MiB default could not receive what the server may send.
MESSAGE_SIZE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
)


@dataclass(frozen=True)
class ServerSettings:
    """What the destination tells Fivetran about itself and how the gRPC server is sized."""

    batch_file_format: BatchFileFormat = "csv"
    max_workers: int = DEFAULT_MAX_WORKERS

    def __post_init__(self) -> None:
        if self.batch_file_format not in BATCH_FILE_FORMATS:
            raise ValueError(
                f"batch_file_format must be one of {', '.join(BATCH_FILE_FORMATS)}, "
                f"got {self.batch_file_format!r}"
            )
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {self.max_workers}")
