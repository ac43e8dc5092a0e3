"""Splitting a streamed body into SSE lines, whatever sizes the body arrives in."""

from __future__ import annotations

import itertools

from hypothesis import given, strategies as st

from zonegate.providers.upstream_http import take_lines

LINE = st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))
ENDING = st.sampled_from([b"\n", b"\r\n", b"\r"])


def feed(chunks: list[bytes]) -> list[bytes]:
    pieces: list[bytes] = []
    lines: list[bytes] = []
    for chunk in chunks:
        lines += take_lines(pieces, chunk)
    return lines + take_lines(pieces, b"")


def cut(body: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(p % (len(body) + 1) for p in points), len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@given(
    st.lists(st.tuples(LINE, ENDING), max_size=12),
    st.one_of(st.just(b""), LINE),
    st.lists(st.integers(min_value=0), max_size=12),
)
def test_any_chunking_gives_the_same_lines(
    ended: list[tuple[bytes, bytes]], last: bytes, points: list[int]
) -> None:
    body = b"".join(line + ending for line, ending in ended) + last
    expected = [line for line, _ in ended if line] + ([last] if last else [])
    # A CRLF split across two reads may add a blank line, which SSE skips; nothing else changes.
    assert [line for line in feed(cut(body, points)) if line] == expected


def test_lines_keep_their_content() -> None:
    body = b': keep-alive\r\n\r\ndata:{"a":1}\r\ndata: [DONE]\r\n\r\n'
    assert feed([body[:5], body[5:21], body[21:]]) == [
        b": keep-alive",
        b"",
        b'data:{"a":1}',
        b"data: [DONE]",
        b"",
    ]


def test_a_line_longer_than_any_read_is_whole() -> None:
    long_line = b"data: " + b"x" * 300_000
    assert feed([long_line[i : i + 1000] for i in range(0, len(long_line), 1000)] + [b"\n"]) == [
        long_line
    ]


def test_an_unterminated_last_line_is_kept() -> None:
    assert feed([b"<html>this is not", b" JSON"]) == [b"<html>this is not JSON"]
