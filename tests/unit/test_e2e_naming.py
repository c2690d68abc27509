"""Fivetran naming as the local tester applies it (our observation of Connector SDK `fivetran debug`
output)."""

from __future__ import annotations

import pytest
from fivetran_e2e.naming import column_name, schema_name, table_name


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Ünïcödé", "unicode"),
        ("日本", "_"),
        ("dash-name", "dash_name"),
        ("dot.name", "dot_name"),
        ("col$x", "col_x"),
        ("with space", "with_space"),
        ("CamelCase", "camel_case"),
        ("userID", "user_id"),
        ("a1b2", "a_1_b_2"),
        ("Mixed_Case9", "mixed_case_9"),
        ("HTTPServer", "httpserver"),
        ("ALLCAPS", "allcaps"),
        ("x__y", "x_y"),
        ("__double", "_double"),
        ("_leading", "_leading"),
        ("trailing_", "trailing_"),
        ("2fast", "_2_fast"),
        ("select", "select"),
        ("order", "order"),
        ("-dash", "_dash"),
        ("already_snake", "already_snake"),
        ("createdAt", "created_at"),
    ],
)
def test_column_names(source: str, expected: str) -> None:
    assert column_name(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("_leading", "leading"),
        ("__double", "double"),
        ("-dash", "dash"),
        ("CamelCase", "camel_case"),
        ("camelCase", "camel_case"),
        ("2fast", "_2_fast"),
        ("orders", "orders"),
    ],
)
def test_table_names_drop_leading_underscores_before_a_letter(source: str, expected: str) -> None:
    assert table_name(source) == expected


def test_schema_names() -> None:
    assert schema_name(None) == "tester"
    assert schema_name("My-Source.Schema") == "tester_my_source_schema"
    assert schema_name("CamelCase") == "tester_camelcase"  # no snake-case splitting for schemas
    assert schema_name("x", base="e2e_1_tester") == "e2e_1_tester_x"
