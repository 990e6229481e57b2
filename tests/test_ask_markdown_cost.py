"""``ask --format markdown`` does work in proportion to the reply: a long block (a 33 KB list)
used to be parsed again after every fragment, 49 s of CPU. The tests count characters handed to
the Markdown parser (never time), and check that what is printed is still every block of the
whole reply, once, in order."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.reply import long_reply
from buddy_tui.display import blocks as display_blocks
from buddy_tui.display.blocks import Block, split_blocks
from buddy_tui.headless.markdown import MarkdownOutput
from buddy_tui.headless.settling import SettlingBlocks
from tests.fake_api import split_text
from tests.test_mdblocks import TRICKY


def long_list(items: int) -> str:
    return "".join(f"- item number {i} with some **bold** words and `code` here\n" for i in range(items))


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The length of every text the Markdown parser is given."""
    sizes: list[int] = []
    real = display_blocks.parser()

    class Counting:
        def parse(self, text: str) -> Any:
            sizes.append(len(text))
            return real.parse(text)

    monkeypatch.setattr(display_blocks, "parser", Counting)
    yield sizes


def parse_work(sizes: list[int], text: str, piece: int = 8) -> int:
    sizes.clear()
    out = MarkdownOutput(io.StringIO())
    for fragment in split_text(text, piece):
        out.delta(fragment)
    out.finish()
    return sum(sizes)


def test_a_long_list_is_parsed_a_bounded_number_of_times(parsed: list[int]) -> None:
    text = long_list(600)  # about 35 KB: the size that cost 49 s of CPU
    work = parse_work(parsed, text)
    assert work <= 8 * len(text), f"{work:,} characters parsed for a {len(text):,}-character reply"
    doubled = parse_work(parsed, long_list(1200))
    assert doubled <= 2.5 * work  # linear: twice the reply, about twice the work


def test_a_long_reply_of_many_blocks_is_parsed_in_linear_work(parsed: list[int]) -> None:
    text = long_reply(40_000)
    assert parse_work(parsed, text) <= 8 * len(text)


def test_a_long_code_block_whose_lines_look_like_block_starts_stays_linear(parsed: list[int]) -> None:
    """After a blank line, a line at the margin may begin a block; inside a fence it never does,
    and the parses such lines prompt are kept within a budget."""
    code = "".join(f"def f{i}(x):\n    return x + {i}\n\n# comment {i}\n\n" for i in range(700))
    text = f"```python\n{code}```\n"
    assert parse_work(parsed, text) <= 8 * len(text)


def settled_in_pieces(text: str, cuts: list[int]) -> tuple[list[Block], list[int]]:
    """Every block the settler hands out, and after which fragment each came."""
    settler = SettlingBlocks()
    out: list[Block] = []
    when: list[int] = []
    start = 0
    for n, cut in enumerate([*sorted(set(cuts)), len(text)]):
        got = settler.append(text[start:cut])
        out += got
        when += [n] * len(got)
        start = max(start, cut)
    return out + settler.finish(), when


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TRICKY)), max_size=40))
def test_in_any_pieces_the_printed_blocks_are_those_of_the_whole(cuts: list[int]) -> None:
    assert settled_in_pieces(TRICKY, cuts)[0] == split_blocks(TRICKY)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="#<>`*-|~=_ab12.\n \t\u2028\x0c\r", max_size=80),
       st.lists(st.integers(min_value=0, max_value=80), max_size=12))
def test_any_text_in_any_pieces_prints_the_blocks_of_the_whole(text: str, cuts: list[int]) -> None:
    assert settled_in_pieces(text, cuts)[0] == split_blocks(text)


def test_blocks_still_print_while_the_reply_streams() -> None:
    text = "# Title\n\nFirst paragraph.\n\n" + long_list(300) + "\nAfter the list.\n\n" + "Tail words " * 200
    blocks, when = settled_in_pieces(text, list(range(0, len(text), 8)))
    assert blocks == split_blocks(text)
    assert [b.kind for b in blocks[:2]] == ["heading_open", "paragraph_open"]
    assert (when[0] - 1) * 8 < text.index("First paragraph.\n") + 17  # once the next block's first line is in
    assert (when[1] - 1) * 8 < text.index("- item number 1")
    list_done = when[2]  # the list prints before the reply ends, at most a quarter of its length late
    assert list_done * 8 <= text.index("After the list.") * 1.25 + 64
