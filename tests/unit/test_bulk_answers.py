"""`client.every_row_one`: a bulk answer whose rows all succeeded with count 1, recognised without parsing.

The answers are written the way CrateDB writes them, compact JSON with one result object per row
(`RestSQLActionIntegrationTest.test_insert_with_failing_bulk_args_response_error_messages` in crate/crate);
whatever the results and error messages, the check must agree with reading the parsed answer.
"""

from __future__ import annotations

from typing import Any

import orjson
from cratedb_destination.client import every_row_one
from hypothesis import given
from hypothesis import strategies as st

_ERROR = st.fixed_dictionaries(
    {"code": st.sampled_from([4000, 4091, 40411]), "message": st.text(max_size=40)}
)
_RESULT = st.one_of(
    st.just({"rowcount": 1}),
    st.builds(lambda count: {"rowcount": count}, st.sampled_from([-2, -1, 0, 2, 10, 11])),
    st.builds(lambda error: {"rowcount": -2, "error": error}, _ERROR),
    # Messages that quote the very text the check counts.
    st.just({"rowcount": -2, "error": {"code": 4000, "message": '{"rowcount":1} "rowcount"'}}),
)


def _answer(results: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"cols": [], "duration": 1.5, "results": results})


@given(st.lists(_RESULT, max_size=30))
def test_the_check_agrees_with_the_parsed_answer(results: list[dict[str, Any]]) -> None:
    data = _answer(results)
    expected = bool(results) and all(item == {"rowcount": 1} for item in orjson.loads(data)["results"])
    assert every_row_one(data, len(results)) is expected


def test_crate_dbs_own_answers() -> None:
    ones = b'{"cols":[],"duration":2.1,"results":[{"rowcount":1},{"rowcount":1},{"rowcount":1}]}'
    assert every_row_one(ones, 3)
    assert not every_row_one(ones, 2) and not every_row_one(ones, 4)
    # The answer of that CrateDB test: the second row failed.
    mixed = (
        b'{"cols":[],"duration":3.0,"results":[{"rowcount":1},'
        b'{"rowcount":-2,"error":{"code":4091,"message":"DuplicateKeyException[A document with the same '
        b'primary key exists already]"}},{"rowcount":1}]}'
    )
    assert not every_row_one(mixed, 3)
    assert not every_row_one(b'{"results": [{"rowcount": 1}]}', 1)  # other spacing: parsed instead
    assert not every_row_one(b'{"cols":[],"results":[]}', 0)
