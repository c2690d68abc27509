"""A streaming check that a CSV byte stream uses quotes only the way Fivetran writes them.

pyarrow's CSV parser is lenient where Python's `csv` (strict=True, the reference reader) is not: it takes
`"a"x` for `ax` and a quote left open at the end of the file for text. So before pyarrow sees a block,
`record_blocks` verifies with one compiled regex (possessive, no backtracking) that every `"` belongs to a
quoted field that starts a field (after `,`, CR, LF or at the start of the file) and ends one (before `,`,
CR, LF or the end of the file), quotes inside doubled. On such input both parsers agree. Anything else
(malformed quoting, an open quote at the end, or a literal quote inside an unquoted field, which Python's
csv accepts) raises `NeedsExactReader`, and the caller re-reads the file with the Python csv reader, which
gives the exact result or the exact error.

Which option pyarrow parses with does not depend on the check: quoted line breaks are always allowed
(`newlines_in_values`). That option only selects how pyarrow's chunker finds the last whole record of
what it reads (a search for the last line end, or a quote-aware scan); its parser reads quoted CR and LF
either way (apache/arrow cpp/src/arrow/csv/chunker.cc `MakeChunker`, parser.cc `InQuotedField`), and
the quote-aware scan measured no slower on our blocks (pyarrow 26, 2026-12-06). An earlier version
scanned first for quoted fields without CR or LF to pick the other option; that scan cost more than
the parse it was meant to speed up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from .. import native
from .streams import Piece

# Unquoted text, then a whole quoted field that starts a field and is followed by a separator; repeated.
# The field body is unrolled (text, then doubled quotes each followed by text), which the regex engine runs
# faster than an alternation per quote.
_UNITS = re.compile(rb'(?:[^"]*+(?<![^,\r\n])"[^"]*+(?:""[^"]*+)*+"(?=[,\r\n]))*+')
_QUOTED = re.compile(rb'"[^"]*+(?:""[^"]*+)*+"')
_SEPARATORS = b",\r\n"


class NeedsExactReader(Exception):
    """The fast path cannot vouch for this input; read it with the Python csv reader instead."""


class Block(NamedTuple):
    """Whole records of the stream. `ascii` is True only when every byte is ASCII (so the block is valid
    UTF-8)."""

    data: memoryview  # a view of the joined bytes object from its offset 0
    ascii: bool = False

    def contains(self, needle: bytes) -> bool:
        """Whether the block's bytes contain `needle` (searched in place, no copy)."""
        source: bytes = self.data.obj  # type: ignore[assignment]  # record_blocks views bytes
        return source.find(needle, 0, self.data.nbytes) >= 0


def record_blocks(pieces: Iterator[Piece], target: int) -> Iterator[Block]:
    """The stream in blocks of about `target` bytes that end at a record boundary (a line end outside
    quotes), quote-checked (see the module docstring); only the last block may lack a line end.

    One copy per block (the join); a block's data is a view that stays valid while the caller parses it.
    """
    parts: list[Piece] = []
    size = 0
    carry = b""  # what follows the last cut: starts at a record boundary
    resume = 0  # carry[:resume] has been checked; carry[resume:] starts with a quoted field still open
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size < target:
            continue
        data = b"".join([carry, *parts]) if carry else b"".join(parts)
        parts.clear()
        size = 0
        resume = _check(data, resume)
        cut = _last_record_end(data, resume)
        if cut:
            yield Block(memoryview(data)[:cut], data.isascii())
            carry, resume = data[cut:], resume - cut
        else:
            carry = data
    data = b"".join([carry, *parts])
    parts.clear()
    resume = _check(data, resume)
    if resume < len(data):
        field = _QUOTED.match(data, resume)
        if field is None or field.end() != len(data):
            raise NeedsExactReader("a quote left open at the end of the file")
    if data:
        yield Block(memoryview(data), data.isascii())


def _check(data: bytes, start: int) -> int:
    """Check data[start:] (data[:start] is vouched for). Returns the offset of a quoted field that is
    still open at the end (or closes exactly there), else len(data). The native scan (`native.csv_quotes`)
    when it is built, else the patterns below; both apply the same rule."""
    found = native.csv_quotes(data, start)
    if found is not None:
        if found < 0:
            raise NeedsExactReader(_NATIVE_REFUSALS[found])
        return found
    return _check_with_patterns(data, start)


_QUOTE_IN_UNQUOTED = "a quote inside an unquoted field"
_TEXT_AFTER_QUOTE = "text after a closing quote"
_NATIVE_REFUSALS = {-1: _QUOTE_IN_UNQUOTED, -2: _TEXT_AFTER_QUOTE}  # native.csv_quotes' codes


def _check_with_patterns(data: bytes, start: int) -> int:
    """`_check` by regex."""
    # Unquoted stretches are skipped with `find` (memchr), far faster than the pattern's `[^"]*+`; a
    # unit may start at a quote, as the lookbehind checks the byte before it.
    quote = data.find(b'"', start)
    if quote < 0:
        return len(data)
    end = _UNITS.match(data, quote).end()  # type: ignore[union-attr]  # the pattern matches ""
    quote = data.find(b'"', end)
    if quote < 0:
        return len(data)
    if quote > 0 and data[quote - 1] not in _SEPARATORS:
        raise NeedsExactReader(_QUOTE_IN_UNQUOTED)
    field = _QUOTED.match(data, quote)
    if field is not None and field.end() < len(data):
        raise NeedsExactReader(_TEXT_AFTER_QUOTE)  # a separator after it matched in _UNITS
    return quote


def _last_record_end(data: bytes, end: int) -> int:
    """Offset just after the last line end in data[:end] that lies outside quotes (0 if none).

    data[:end] starts at a record boundary and holds only whole quoted fields (the quote check has
    vouched for it), so a position is outside quotes iff an even number of quotes follows it up to `end`.
    """
    for terminator in (b"\n", b"\r"):
        position, quotes_after = end, 0
        while True:
            found = data.rfind(terminator, 0, position)
            if found < 0:
                break
            quotes_after += data.count(b'"', found, position)
            position = found
            if quotes_after % 2 == 0:
                if terminator == b"\n":
                    return found + 1
                if found + 1 < len(data) and data[found + 1] != 0x0A:  # a CR followed by LF is one end
                    return found + 1
    return 0
