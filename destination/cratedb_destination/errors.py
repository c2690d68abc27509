"""Error kinds of the destination and how each reaches Fivetran.

- `UserActionRequired` (and its subclasses): something the customer can fix (credentials, permissions, a
  name CrateDB cannot hold, a bad batch file, a schema change that would lose rows). Answered as a Task,
  which stops the sync with an actionable alert.
- `TransientFailure`: CrateDB stayed unavailable after the bounded retries. Answered with gRPC status
  UNAVAILABLE, so Fivetran retries the sync later without bothering the customer.
- `InvalidRequest`: the request itself is malformed (a protocol-level mistake). gRPC INVALID_ARGUMENT.
- Anything else is a bug: gRPC INTERNAL with the exception type and message.
Non-fatal findings are returned as a Warning by the handler that collects them.

Messages never contain credentials or row values; they name files, tables, columns and row numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import grpc
from fivetran_proto import common_pb2

log = logging.getLogger(__name__)


class DestinationError(Exception):
    """Base class of every error the destination raises on purpose."""


class UserActionRequired(DestinationError):
    """The customer must change something; becomes a Task."""


class InvalidName(UserActionRequired):
    """A schema, table or column name CrateDB cannot hold."""


class InvalidValue(UserActionRequired):
    """A batch-file cell that cannot be converted to its column's type (the message names file/row/column)."""


class UnsupportedServer(UserActionRequired):
    """The CrateDB server is older than the destination supports."""


class CrateDBError(UserActionRequired):
    """CrateDB rejected a statement for a reason that retrying will not fix.

    `code` is CrateDB's error code when it is known (bulk results carry it), else None.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class RowsRejected(CrateDBError):
    """Rows of a bulk request that CrateDB reported as failed (rowcount -2)."""


class TransientFailure(DestinationError):
    """CrateDB was unreachable or overloaded for longer than the retry budget."""


class InvalidRequest(DestinationError):
    """The request is malformed (e.g. a table without columns); the client has a bug, not the customer."""


ResponseT = TypeVar("ResponseT")


def abort(context: grpc.ServicerContext, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise AssertionError("grpc.ServicerContext.abort returned")  # abort always raises


def answer(
    context: grpc.ServicerContext,
    operation: str,
    response_type: Callable[..., ResponseT],
    work: Callable[[], ResponseT],
) -> ResponseT:
    """Run `work` and turn a failure into the right response: a Task, or a gRPC status with a message.

    `operation` describes what was attempted (e.g. "create table s.t") and prefixes every message.
    """
    try:
        return work()
    except CrateDBError as exc:
        # CrateDB's own messages may quote a rejected value, so the log names only the error code.
        log.warning("%s failed: CrateDB error code %s (details in the Task)", operation, exc.code)
        task: Any = common_pb2.Task(message=f"Failed to {operation}: {exc}")
        return response_type(task=task)
    except UserActionRequired as exc:
        log.warning("%s failed: %s", operation, exc)
        return response_type(task=common_pb2.Task(message=f"Failed to {operation}: {exc}"))
    except TransientFailure as exc:
        log.warning("%s failed, CrateDB unavailable: %s", operation, exc)
        abort(context, grpc.StatusCode.UNAVAILABLE, f"Failed to {operation}: {exc}")
    except InvalidRequest as exc:
        log.warning("%s rejected: %s", operation, exc)
        abort(context, grpc.StatusCode.INVALID_ARGUMENT, f"Failed to {operation}: {exc}")
    except Exception as exc:  # a bug: report it, keep serving
        log.exception("%s failed with an internal error", operation)
        abort(context, grpc.StatusCode.INTERNAL, f"Failed to {operation}: {type(exc).__name__}: {exc}")
