"""A reply's Markdown as top-level blocks: kept up to date delta by delta, it must always equal
the blocks of the whole text, or a streamed reply would show something a reopened one does not."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from benchmarks.reply import long_reply
from buddy_tui.display.blocks import MarkdownBlocks, split_blocks

TRICKY = (
    "Intro paragraph\nstill the same paragraph\n\n"
    "Setext heading\n---\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "- item\n\n  continued item\n- second\n\n"
    "1. one\n2. two\n\n"
    "```python\ndef f():\n\n    return 1\n```\n\n"
    "    indented code\n\n"
    "> quoted\nlazy continuation\n\n"
    "<div>raw html</div>\n\n"
    "~~~\nunclosed fence at the end\n"
)


def streamed(text: str, cuts: list[int]) -> MarkdownBlocks:
    blocks = MarkdownBlocks()
    start = 0
    for cut in sorted(set(cuts)):
        blocks.append(text[start:cut])
        start = cut
    blocks.append(text[start:])
    return blocks


def test_blocks_of_a_reply_with_every_kind_of_block() -> None:
    kinds = [block.kind for block in split_blocks(TRICKY)]
    assert kinds == ["paragraph_open", "heading_open", "table_open", "bullet_list_open", "ordered_list_open",
                     "fence", "code_block", "blockquote_open", "html_block", "fence"]
    fences = [block for block in split_blocks(TRICKY) if block.code is not None]
    assert fences[0].code == "def f():\n\n    return 1" and fences[0].language == "python"
    assert fences[1].code == "indented code"
    assert split_blocks(TRICKY)[1].source == "Setext heading\n---"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(TRICKY)), max_size=40))
def test_streamed_in_any_pieces_the_blocks_are_those_of_the_whole(cuts: list[int]) -> None:
    blocks = streamed(TRICKY, cuts)
    assert blocks.blocks == split_blocks(TRICKY)
    assert blocks.text == TRICKY


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20_000), min_size=50, max_size=400))
def test_a_long_reply_streamed_in_pieces_matches_the_whole(cuts: list[int]) -> None:
    text = long_reply(5_000)
    assert streamed(text, cuts).blocks == split_blocks(text)


def test_only_the_last_block_is_open() -> None:
    blocks = MarkdownBlocks("# Title\n\nFirst para")
    assert blocks.settled == 0  # the paragraph's line is unfinished: it could still be anything
    blocks.append("graph goes on\n\n| a |\n")
    assert [b.kind for b in blocks.blocks] == ["heading_open", "paragraph_open", "paragraph_open"]
    assert blocks.settled == 2
    blocks.append("|---|\n| 1 |\n")  # the last paragraph turns into a table
    assert [b.kind for b in blocks.blocks] == ["heading_open", "paragraph_open", "table_open"]
    assert blocks.settled == 2
    blocks.set("")
    assert blocks.blocks == [] and blocks.text == ""


def test_only_cr_and_lf_end_lines_as_markdown_counts_them() -> None:
    text = "In JS, U+2028 (\u2028) ends a line\x0c and so does FF.\n\nSecond paragraph.\n\n```py\nprint(1)\n```\n"
    assert [b.source for b in split_blocks(text)] == [
        "In JS, U+2028 (\u2028) ends a line\x0c and so does FF.", "Second paragraph.", "```py\nprint(1)\n```"]
    assert streamed(text, [5, 40, 41, 60]).blocks == split_blocks(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="#<>`*-|~=_ab12.\n \t\u2028\x0c\r", max_size=80),
       st.lists(st.integers(min_value=0, max_value=80), max_size=12))
def test_any_text_streamed_in_any_pieces_has_the_blocks_of_the_whole(text: str, cuts: list[int]) -> None:
    """A block only settles on whole lines: "fixed in\\n#" + "42" stays one paragraph."""
    assert streamed(text, cuts).blocks == split_blocks(text)
