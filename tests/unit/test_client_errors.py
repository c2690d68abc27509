"""How the client reads CrateDB's answers: error codes, quoted values, whole-request rejections."""

from __future__ import annotations

import pytest
from cratedb_destination.client import (
    BulkRequestRejected,
    QuotedValue,
    _all_succeeded,
    _rejected_request,
    http_status,
    quoted_values,
    redact,
)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (4000, 400),
        (4041, 404),
        (4092, 409),
        (40000, 400),
        (40010, 400),
        (40411, 404),
        (40910, 409),
        (5030, 503),
    ],
)
def test_http_status_of_crate_error_codes(code: int, status: int) -> None:
    """crate/crate `io.crate.rest.action.HttpErrorStatus`: the status is the code's first three digits."""
    assert http_status(code) == status


@pytest.mark.parametrize(
    ("message", "quoted", "redacted"),
    [
        (
            "SQLParseException[Cannot cast value `abc` to type `integer`]",
            ["abc"],
            "SQLParseException[Cannot cast value `<value>` to type `integer`]",
        ),
        (
            "SQLParseException[Cannot cast object element `a` with value `asdf` to type `bigint`]",
            ["asdf"],
            "SQLParseException[Cannot cast object element `a` with value `<value>` to type `bigint`]",
        ),
        (
            "DocumentMissingException[[42]: document missing]",
            [],
            "DocumentMissingException[[<id>]: document missing]",
        ),
    ],
)
def test_values_crate_quotes_are_found_and_redacted(message: str, quoted: list[str], redacted: str) -> None:
    assert quoted_values(message) == quoted
    assert redact(message, None) == redacted


def test_a_whole_request_rejection_names_the_quoted_parameters_and_hides_them() -> None:
    batch = [[1, "ok"], [2, "secret-abc"], [3, "fine"]]
    error = _rejected_request(
        "SQLParseException[Cannot cast value `secret-abc` to type `integer`]", batch, [5, 6, 7]
    )
    assert isinstance(error, BulkRequestRejected)
    assert error.quoted == [QuotedValue(6, 1)]
    assert "secret-abc" not in str(error) and "`<value>` to type `integer`" in str(error)


def test_short_quoted_values_are_redacted_too() -> None:
    """Parameters shorter than 3 characters stay in general messages, but never inside CrateDB's quotes."""
    error = _rejected_request("Cannot cast value `x` to type `integer`", [["x"]], [0])
    assert "`x`" not in str(error)


def test_statement_length_counts_utf16_code_units() -> None:
    """CrateDB source Session.java `validateStatementLength` compares Java's String.length()."""
    from cratedb_destination.limits import statement_length

    assert statement_length("select 1") == 8
    assert statement_length("\U0001f600") == 2  # outside the Basic Multilingual Plane
    assert statement_length("ä") == 1


@pytest.mark.parametrize(
    ("results", "counts"),
    [
        ([{"rowcount": 1}, {"rowcount": 0}], [1, 0]),
        ([{"rowcount": -1}, {"rowcount": 2}], [0, 2]),  # -1: CrateDB does not know the count
        ([], []),
        ([{"rowcount": 1}, {"rowcount": -2, "error": {"code": 40411, "message": "m"}}], None),
        ([{"rowcount": -2}], None),
        ([{"error": {}}], None),
        (["not a row result"], None),
    ],
)
def test_a_bulk_answer_without_failures_is_read_at_once(
    results: list[object], counts: list[int] | None
) -> None:
    """Any row that failed (or an answer of another shape) leaves the answer to the row-by-row reading."""
    assert _all_succeeded(results) == counts
