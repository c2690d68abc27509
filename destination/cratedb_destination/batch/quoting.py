"""A streaming check that a CSV byte stream uses quotes only the way Fivetran writes them.

pyarrow's CSV parser is lenient where Python's `csv` (strict=True, the reference reader) is not: it takes
`"a"x` for `ax` and a quote left open at the end of the file for text. So before pyarrow sees a block,
`record_blocks` verifies that every `"` belongs to a quoted field that starts a field (after `,`, CR, LF
or at the start of the file) and ends one (before `,`, CR, LF or the end of the file), quotes inside
doubled. On such input both parsers agree. Anything else (malformed quoting, an open quote at the end, or
a literal quote inside an unquoted field, which Python's csv accepts) raises `NeedsExactReader`, and the
caller re-reads the file with the Python csv reader, which gives the exact result or the exact error.

The check works on the positions of the quotes (numpy, a few passes over the block, no Python loop per
quote): quotes alternate between opening and closing; an opening quote must start a field or directly
follow a closing one (the pair is a doubled quote inside the field), and a closing quote must be followed
by a separator, by an opening quote (doubled) or by the end of the data.

The check also says which blocks hold a quoted field with a line break in it: pyarrow parses a block
without them about a third faster when told so (`newlines_in_values` off). A CR or LF lies inside a quoted
field exactly when an odd number of quotes precedes it in the checked data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from .streams import Piece

_QUOTED = re.compile(rb'"[^"]*+(?:""[^"]*+)*+"')  # one whole quoted field
_QUOTE, _CR, _LF = 0x22, 0x0D, 0x0A
_SEPARATOR = np.zeros(256, dtype=bool)  # by byte value: ends an unquoted stretch of a record
_SEPARATOR[[0x2C, _CR, _LF]] = True


class NeedsExactReader(Exception):
    """The fast path cannot vouch for this input; read it with the Python csv reader instead."""


class Block(NamedTuple):
    """Whole records of the stream. `line_breaks` is False only when no quoted field in it holds CR or LF;
    `ascii` is True only when every byte is ASCII (so the block is valid UTF-8)."""

    data: memoryview  # a view of the joined bytes object from its offset 0
    line_breaks: bool
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
    breaks: _Span = None  # where quoted fields of carry[:resume] may hold line breaks
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size < target:
            continue
        data = b"".join([carry, *parts]) if carry else b"".join(parts)
        parts.clear()
        size = 0
        resume, found = _check(data, resume)
        breaks = _hull(breaks, found)
        cut = _last_record_end(data, resume)
        if cut:
            yield Block(memoryview(data)[:cut], breaks is not None and breaks[0] < cut, data.isascii())
            carry, resume = data[cut:], resume - cut
            breaks = (max(breaks[0] - cut, 0), breaks[1] - cut) if breaks and breaks[1] > cut else None
        else:
            carry = data
    data = b"".join([carry, *parts])
    parts.clear()
    resume, found = _check(data, resume)
    breaks = _hull(breaks, found)
    if resume < len(data):
        field = _QUOTED.match(data, resume)
        if field is None or field.end() != len(data):
            raise NeedsExactReader("a quote left open at the end of the file")
        if data.find(b"\n", resume) >= 0 or data.find(b"\r", resume) >= 0:
            breaks = _hull(breaks, (resume, len(data)))
    if data:
        yield Block(memoryview(data), breaks is not None, data.isascii())


_Span = tuple[int, int] | None
"""[start, stop) of a stretch whose quoted fields may hold line breaks, or None."""


def _hull(first: _Span, second: _Span) -> _Span:
    """The smallest span covering both (a safe overestimate of their union)."""
    if first is None:
        return second
    if second is None:
        return first
    return min(first[0], second[0]), max(first[1], second[1])


def _check(data: bytes, start: int) -> tuple[int, _Span]:
    """Check data[start:] (data[:start] is vouched for). Returns the offset of a quoted field that is
    still open at the end (or closes exactly there), else len(data); and the span of what was checked
    in which quoted fields hold line breaks."""
    first = data.find(b'"', start)  # memchr: blocks without quotes cost nothing more
    if first < 0:
        return len(data), None
    size = len(data)
    view = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(view[first:] == _QUOTE) + first
    opening, closing = quotes[0::2], quotes[1::2]
    # An opening quote directly after a closing one is the second half of a doubled quote.
    doubled = np.zeros(len(opening), dtype=bool)
    doubled[1:] = opening[1:] == closing[: len(opening) - 1] + 1
    starts_field = _SEPARATOR[view[opening - 1]]
    if opening[0] == 0:
        starts_field[0] = True
    bad_opening = ~(starts_field | doubled)
    after = closing + 1
    at_end = after == size
    followed = np.zeros(len(closing), dtype=bool)
    followed[: len(doubled) - 1] = doubled[1:]
    bad_closing = ~(_SEPARATOR[view[np.minimum(after, size - 1)]] & ~at_end | followed | at_end)
    _refuse(opening, bad_opening, closing, bad_closing)
    # The last field is open when the quotes are odd, or closes exactly at the end (the next piece decides
    # what follows its closing quote): it resumes at its opening quote.
    resume = size
    if len(quotes) % 2 or at_end[-1]:
        resume = int(opening[np.flatnonzero(~doubled)[-1]])
    return resume, _line_breaks(data, view, quotes, first, resume)


def _refuse(
    opening: np.ndarray, bad_opening: np.ndarray, closing: np.ndarray, bad_closing: np.ndarray
) -> None:
    """Raise NeedsExactReader for the first misplaced quote, if any."""
    wrong_open = opening[bad_opening]
    wrong_close = closing[bad_closing]
    if not len(wrong_open) and not len(wrong_close):
        return
    if len(wrong_open) and (not len(wrong_close) or wrong_open[0] < wrong_close[0]):
        raise NeedsExactReader("a quote inside an unquoted field")
    raise NeedsExactReader("text after a closing quote")


def _line_breaks(data: bytes, view: np.ndarray, quotes: np.ndarray, first: int, end: int) -> _Span:
    """The span from the first to the last CR or LF inside a quoted field of data[first:end] (None if there
    is none): those with an odd number of quotes before them."""
    breaks = np.flatnonzero(view[first:end] == _LF)
    if data.find(b"\r", first, end) >= 0:
        breaks = np.union1d(breaks, np.flatnonzero(view[first:end] == _CR))
    if not len(breaks):
        return None
    breaks += first
    inside = breaks[np.searchsorted(quotes, breaks) % 2 == 1]
    return (int(inside[0]), int(inside[-1]) + 1) if len(inside) else None


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
