"""The one identifier helper: quoting is injection-proof, CrateDB's naming rules are enforced by name."""

from __future__ import annotations

import pytest
from cratedb_destination.errors import InvalidName, UserActionRequired
from cratedb_destination.sql.identifiers import (
    TableRef,
    column,
    column_list,
    literal,
    quote,
    validate_column_name,
)


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("plain", '"plain"'),
        ("MixedCase", '"MixedCase"'),
        ("select", '"select"'),
        ("_fivetran_synced", '"_fivetran_synced"'),
        ('we"ird', '"we""ird"'),
        ('"', '""""'),
        ("x; DROP TABLE t; --", '"x; DROP TABLE t; --"'),
        ('a" ; DROP TABLE "t', '"a"" ; DROP TABLE ""t"'),
        ("größe", '"größe"'),
        ("列名", '"列名"'),
        ("with space", '"with space"'),
        ("it's", '"it\'s"'),
    ],
)
def test_quote_doubles_embedded_quotes(name: str, quoted: str) -> None:
    assert quote(name) == quoted
    assert column(name) == quoted
    # The quoted form is a single identifier: stripping the outer quotes and un-doubling gives the name.
    assert quoted[1:-1].replace('""', '"') == name


def test_table_ref_is_schema_qualified_and_quoted() -> None:
    ref = TableRef("My_Schema", "ta'ble;select")
    assert ref.sql == '"My_Schema"."ta\'ble;select"'
    assert str(ref) == "My_Schema.ta'ble;select"
    assert ref.sibling("other").sql == '"My_Schema"."other"'


@pytest.mark.parametrize(
    "bad",
    ["a.b", "a/b", "a\\b", "a*b", "a?b", 'a"b', "a<b", "a>b", "a|b", "a b", "a,b", "a#b", "a\tb", "a\nb",
     "-a", "+a", "_all", ""],
)  # fmt: skip
def test_invalid_table_names_are_rejected_by_name(bad: str) -> None:
    with pytest.raises(InvalidName) as raised:
        TableRef("s", bad)
    assert "table" in str(raised.value)
    with pytest.raises(InvalidName) as raised:
        TableRef(bad, "t")
    assert "schema" in str(raised.value)


def test_invalid_names_are_tasks() -> None:
    assert issubclass(InvalidName, UserActionRequired)


def test_relation_name_length_counts_utf8_bytes() -> None:
    TableRef("s", "x" * 253)  # "s." + 253 = 255 bytes
    with pytest.raises(InvalidName, match="256 bytes"):
        TableRef("s", "x" * 254)
    with pytest.raises(InvalidName, match="bytes"):
        TableRef("s", "ä" * 127)  # 254 bytes + "s." = 256


@pytest.mark.parametrize("bad", ["a.b", "a[0]", "a\tb", "a\rb", "a\nb", ""])
def test_invalid_column_names_are_rejected_by_name(bad: str) -> None:
    with pytest.raises(InvalidName) as raised:
        validate_column_name(bad, "s.t")
    assert "s.t" in str(raised.value)
    with pytest.raises(InvalidName):
        column(bad)


@pytest.mark.parametrize(
    "good", ["_fivetran_synced", "_fivetran_id", "a b", "Ünïcödé", 'q"uote', "semi;colon", "a]"]
)
def test_valid_column_names(good: str) -> None:
    assert validate_column_name(good) == good


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("_id", '"__id"'),
        ("_version", '"__version"'),
        ("_docid", '"__docid"'),
        ("__id", '"__id"'),
        ("id", '"id"'),
    ],
)
def test_system_column_names_are_stored_with_one_more_underscore(name: str, stored: str) -> None:
    """CrateDB reserves its system column names (CrateDB source SysColumns.java) and refuses writes to
    them since 6.2.0 (CrateDB 6.2.0 release notes); MongoDB sources key every table by `_id`."""
    assert validate_column_name(name) == name
    assert column(name) == stored


def test_column_list() -> None:
    assert column_list(["a", 'b"c', "select"]) == '"a", "b""c", "select"'


def test_literal_doubles_single_quotes() -> None:
    assert literal("it's") == "'it''s'"
