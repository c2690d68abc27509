"""CrateDB-shaped errors: each failure carries CrateDB's code, exception name and HTTP status.

The HTTP status follows the code family as CrateDB's `HttpErrorStatus` does, so clients (the `crate` driver
turns 503 into `ConnectionError` and "DuplicateKeyException" into `IntegrityError`) react as they would
against a real server.
"""

from __future__ import annotations

# Codes used by the emulator (CrateDB's numbering).
PARSE = 4000
INVALID_TABLE_NAME = 4002
VALIDATION = 4003
UNSUPPORTED = 4004
INVALID_COLUMN_NAME = 4008
UNAUTHORIZED = 4010
UNKNOWN_RELATION = 4041
UNKNOWN_COLUMN = 4043
UNKNOWN_SCHEMA = 4045
DOCUMENT_NOT_FOUND = 40411
DUPLICATE_KEY = 4091
VERSION_CONFLICT = 4092
RELATION_EXISTS = 4093
DUPLICATE_OBJECT = 40910
INTERNAL = 5000
UNAVAILABLE = 5030


def http_status(code: int) -> int:
    """Map a CrateDB error code to the HTTP status CrateDB answers with."""
    ranges = (
        (4000, 4009, 400),
        (40000, 40099, 400),
        (4010, 4011, 401),
        (4030, 4037, 403),
        (4040, 4049, 404),
        (40400, 40411, 404),
        (4090, 4099, 409),
        (40900, 40911, 409),
        (4290, 4290, 429),
        (5000, 5006, 500),
        (5030, 5035, 503),
    )
    for low, high, status in ranges:
        if low <= code <= high:
            return status
    return 500


class CrateError(Exception):
    """An error answered to the client as `{"error": {"message", "code"}}`.

    `exception` is the Java exception name CrateDB prefixes its messages with; clients match on it
    (the driver raises IntegrityError when the message contains "DuplicateKeyException").
    """

    def __init__(self, code: int, exception: str, detail: str) -> None:
        super().__init__(f"{exception}[{detail}]")
        self.code = code
        self.exception = exception
        self.detail = detail

    @property
    def message(self) -> str:
        return f"{_CLIENT_NAMES.get(self.exception, self.exception)}[{self.detail}]"

    @property
    def http_status(self) -> int:
        return http_status(self.code)

    def payload(self) -> dict[str, object]:
        return {"message": self.message, "code": self.code}


# Before answering, CrateDB's HTTP layer turns an IllegalArgumentException (ConversionException is one) into
# an SQLParseException (server/src/main/java/io/crate/exceptions/SQLExceptions.java,
# prepareForClientTransmission), so clients never see the internal names.
_CLIENT_NAMES = {"IllegalArgumentException": "SQLParseException", "ConversionException": "SQLParseException"}


class DocumentError(CrateError):
    """A failure CrateDB only meets while indexing one document on its shard (an object's sub-column
    conflicts with its mapping, a strict object gets an unknown key, ...).

    A bulk request reports it for that row alone (`rowcount: -2`), whereas a parameter that fails to cast
    to its column type fails the whole bulk request while it is still being analysed."""


def in_document(error: CrateError) -> DocumentError:
    if isinstance(error, DocumentError):
        return error
    return DocumentError(error.code, error.exception, error.detail)


def document_missing(doc_id: str) -> CrateError:
    """An UPDATE/DELETE by primary key whose document does not exist (bulk requests report it per row).

    org/elasticsearch/index/engine/DocumentMissingException.java: message `[<id>]: document missing`,
    code 40411 (DOCUMENT_NOT_FOUND in io/crate/rest/action/HttpErrorStatus.java)."""
    return CrateError(DOCUMENT_NOT_FOUND, "DocumentMissingException", f"[{doc_id}]: document missing")


def parse_error(detail: str) -> CrateError:
    return CrateError(PARSE, "SQLParseException", detail)


def syntax_error(line: int, column: int, detail: str) -> CrateError:
    """A statement CrateDB's SQL parser rejects: `ParsingException[line L:C: ...]`, code 4000, HTTP 400.

    The one shape of every grammar rejection, whether found by `gate.check` or by a hand-written check.
    """
    return CrateError(PARSE, "ParsingException", f"line {line}:{column}: {detail}")


def column_validation(column: str, detail: str) -> CrateError:
    """CrateDB source ColumnValidationException.java; HttpError.java maps it to FIELD_VALIDATION_FAILED."""
    return CrateError(VALIDATION, "ColumnValidationException", f"Validation failed for {column}: {detail}")


def unsupported(detail: str) -> CrateError:
    return CrateError(UNSUPPORTED, "UnsupportedFeatureException", detail)


def emulator_limit(detail: str) -> CrateError:
    """Valid CrateDB the emulator does not model: failing loudly beats accepting it silently."""
    return CrateError(UNSUPPORTED, "UnsupportedFeatureException", f"{detail} (not supported by the emulator)")


def illegal_argument(detail: str) -> CrateError:
    return CrateError(PARSE, "IllegalArgumentException", detail)


def relation_unknown(name: str) -> CrateError:
    return CrateError(UNKNOWN_RELATION, "RelationUnknown", f"Relation '{name}' unknown")


def schema_unknown(name: str) -> CrateError:
    return CrateError(UNKNOWN_SCHEMA, "SchemaUnknownException", f"Schema '{name}' unknown")


def column_unknown(name: str) -> CrateError:
    return CrateError(UNKNOWN_COLUMN, "ColumnUnknownException", f"Column {name} unknown")


def relation_exists(name: str) -> CrateError:
    return CrateError(RELATION_EXISTS, "RelationAlreadyExists", f"Relation '{name}' already exists.")


def duplicate_key() -> CrateError:
    return CrateError(
        DUPLICATE_KEY, "DuplicateKeyException", "A document with the same primary key exists already"
    )


def invalid_column_name(name: str, reason: str) -> CrateError:
    return CrateError(INVALID_COLUMN_NAME, "InvalidColumnNameException", f'"{name}" {reason}')


def cast_error(value: object, type_name: str) -> CrateError:
    shown = value if isinstance(value, str) else repr(value)
    return CrateError(PARSE, "ConversionException", f"Cannot cast value `{shown}` to type `{type_name}`")
