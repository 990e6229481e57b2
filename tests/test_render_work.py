"""A long reply costs work in proportion to its length, not to its square: a growing code block
or a long line is not parsed again with every delta, the splitter takes a long line in one go,
and a long code block is rendered in parts so that an update re-renders only the last. Work is
counted (parse runs, characters rendered), never timed."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from textual.app import App, ComposeResult

from buddy_tui.display import blocks
from buddy_tui.display.blocks import MarkdownBlocks, split_blocks
from buddy_tui.display.parts import PARAGRAPH_PART_CHARS, RUN_PART_LINES, block_parts, code_parts
from buddy_tui.display.splitter import BlockSplitter
from buddy_tui.ui.widgets import reply_view
from buddy_tui.ui.widgets.reply_view import FENCE_PART_LINES, ReplyView

CODE_LINE = "    total = compute(orders, customer)  # one line of the answer's code\n"


def streamed(text: str, size: int) -> MarkdownBlocks:
    found = MarkdownBlocks()
    for start in range(0, len(text), size):
        found.append(text[start:start + size])
    return found


def parses_for(text: str, size: int) -> int:
    before = blocks.parse_count
    found = streamed(text, size)
    assert found.blocks == split_blocks(text) and found.text == text
    return blocks.parse_count - before


def test_a_long_code_block_is_not_parsed_again_with_every_delta() -> None:
    text = "Here it is:\n\n```python\n" + CODE_LINE * 3_000 + "```\n\nDone.\n"
    assert parses_for(text, 100) < 20  # one per delta (over 2,000) before


def test_a_long_line_is_not_parsed_again_with_every_delta() -> None:
    assert parses_for("word " * 40_000, 100) < 5  # 2,000 before


def test_the_splitter_goes_a_line_at_a_time() -> None:
    splitter = BlockSplitter(size=100)
    text = ("intro " * 50 + "\n\n" + "x" * 10_000 + "\n\nnext paragraph\n") * 3
    parts = [part for start in range(0, len(text), 37) for part in splitter.feed(text[start:start + 37])]
    assert "".join(parts) == text


fence_lines = st.lists(st.sampled_from([
    "x = 1", "", "  ", " \t", "\x0c", "\u00a0",
    "```", "````", "~~~", "   ```", "    ```", "``` not a close", "text ~~~", "# not a heading",
]), max_size=25)


@settings(max_examples=150, deadline=None)
@given(opener=st.sampled_from(["```", "````python", "~~~", "~~~ sql x", "```py`x"]), lines=fence_lines,
       after=st.sampled_from(["", "\n", "\nafter\n", "\r\n"]), size=st.integers(1, 9))
def test_a_growing_fence_has_the_blocks_of_the_whole_text(opener: str, lines: list[str], after: str,
                                                           size: int) -> None:
    text = opener + "\n" + "\n".join(lines) + after
    assert streamed(text, size).blocks == split_blocks(text)


def test_code_parts_cover_the_code_and_stay_put_as_it_grows() -> None:
    code = "".join(f"line {n}\n" + ("\n" if n % 7 == 0 else "") for n in range(2_000))
    (block,) = split_blocks(f"```python\n{code}```\n")
    parts = code_parts(block)
    assert len(parts) > 3 and "\n".join(p.code or "" for p in parts) == block.code
    assert all(p.code and p.code.split("\n")[-1].strip() for p in parts[:-1])  # a part never ends blank
    (grown,) = split_blocks(f"```python\n{code}more\n" * 1 + "```\n")
    assert code_parts(grown)[:len(parts) - 1] == parts[:-1]
    (short,) = split_blocks("```\n" + "a\n" * FENCE_PART_LINES + "```\n")
    assert code_parts(short) == [short]


class Host(App[None]):
    CSS = "ReplyView { height: auto; }"

    def compose(self) -> ComposeResult:
        yield ReplyView()


async def test_a_growing_code_block_re_renders_only_its_last_part() -> None:
    text = "```python\n" + CODE_LINE * 3_000 + "```\n"
    app = Host()
    per_update: list[int] = []
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(ReplyView)
        for start in range(0, len(text), 2_000):
            before = reply_view.rendered_chars
            await view.write(text[start:start + 2_000])
            await pilot.pause()
            per_update.append(reply_view.rendered_chars - before)
        assert view.source == text
        assert any("total = compute(orders, customer)" in line for line in view.shown_lines)
        assert len(view.shown_lines) >= 3_000
    part = 3 * FENCE_PART_LINES * len(CODE_LINE)  # the last part is at most twice the size, plus the delta
    assert max(per_update) < part < len(text) / 3  # before: the whole block, ever longer, each update
    assert sum(per_update) < len(per_update) * part


LIST = "".join(f"- item {n} with some **bold** words and `code` here\n" for n in range(3_000))
QUOTE = "".join(f"> line {n} of the quoted log: served in {n % 97} ms\n" for n in range(3_000))
TABLE = "| id | name | status |\n|---|---|---|\n" + "".join(f"| {n} | order {n} | shipped |\n" for n in range(3_000))
PARAGRAPH = "the quick brown fox jumps over the lazy dog " * 5_000


def test_a_long_list_quote_or_table_is_not_parsed_again_with_every_delta() -> None:
    for text in (LIST, QUOTE, TABLE, "".join(f"{n}. step {n}\n    detail\n" for n in range(1, 1_500))):
        assert parses_for(text, 64) < 20  # one per delta (over 2,000) before


run_lines = st.lists(st.sampled_from([
    "- item", "- **bold**", "- - -", "-", "- ", "* other", "  nested", "    deeper", " one space", "lazy",
    "", "1. first", "2) other", "10. ten", "> quoted", ">", "> - item", "| a | b |", "| 1 |", "|", "# heading",
    "---", "===", "```", "\t- tab",
]), max_size=20)


@settings(max_examples=200, deadline=None)
@given(first=st.sampled_from(["- a", "* a", "1. a", "3) a", "> a", "| a | b |\n|---|---|"]), lines=run_lines,
       after=st.sampled_from(["", "\n", "\nafter\n"]), size=st.integers(1, 9))
def test_a_growing_list_quote_or_table_has_the_blocks_of_the_whole_text(first: str, lines: list[str], after: str,
                                                                         size: int) -> None:
    text = first + "\n" + "\n".join(lines) + after
    assert streamed(text, size).blocks == split_blocks(text)


def test_long_lists_quotes_tables_and_paragraphs_are_drawn_in_parts_that_stay_put() -> None:
    for text in (LIST, QUOTE, TABLE, PARAGRAPH):
        (block,) = split_blocks(text)
        parts = block_parts(block)
        assert len(parts) > 3 and all(part.kind == block.kind for part in parts)
        assert all(len(part.source) < len(block.source) / 3 for part in parts)
        if block.kind == "table_open":  # every part is a table: the header comes again
            assert all(part.source.startswith("| id | name | status |\n|---|---|---|\n") for part in parts)
            assert "\n".join(part.source.split("\n", 2)[2] for part in parts[1:]) in block.source
        else:
            assert (" " if block.kind == "paragraph_open" else "\n").join(p.source for p in parts) == block.source
        (grown,) = split_blocks(text + text[:500])
        assert block_parts(grown)[:len(parts) - 1] == parts[:-1]
        assert all(split_blocks(part.source) == [part] for part in parts)  # each part reads as the same kind


async def test_a_growing_list_table_or_paragraph_re_renders_only_its_last_part() -> None:
    for text in (LIST, TABLE, PARAGRAPH):
        app = Host()
        per_update: list[int] = []
        async with app.run_test(size=(100, 30)) as pilot:
            view = app.query_one(ReplyView)
            for start in range(0, len(text), 2_000):
                before = reply_view.rendered_chars
                await view.write(text[start:start + 2_000])
                await pilot.pause()
                per_update.append(reply_view.rendered_chars - before)
            assert view.source == text
            assert len(view.shown_lines) > 1_000 and "the quick brown fox" not in view.shown_lines[-1][:0]
        part = 2 * max(RUN_PART_LINES * 70, PARAGRAPH_PART_CHARS) + 2_000  # the last part may be twice the size
        assert max(per_update) < part < len(text) / 2  # before: the whole block, ever longer, each update
