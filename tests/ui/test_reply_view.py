"""A reply piece drawn block by block: what it shows, literally; that streaming it shows what the
whole text shows; clicking code copies it; selecting text works; folding keeps its height; and a
new width or theme draws it again."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.geometry import Offset
from textual.selection import Selection

from benchmarks.reply import chunks, long_reply
from buddy_tui.ui.widgets.reply_view import ReplyView

SAMPLE = (
    "## Pagination\n\nUse **keyset** pagination, not `OFFSET`.\n\n"
    "1. index `(created_at, id)`\n2. pass the last key\n\n"
    "```sql\nSELECT * FROM orders WHERE id > $1 LIMIT 50;\n```\n\n"
    "| plan | p95 |\n|---|---|\n| offset | 900 ms |\n| keyset | 12 ms |\n\n"
    "See [the docs](https://example.com/keyset).\n"
)


class Host(App[None]):
    CSS = "ReplyView { height: auto; padding: 0 1; }"

    def __init__(self, text: str = SAMPLE) -> None:
        super().__init__()
        self.text = text
        self.copied: list[str] = []

    def compose(self) -> ComposeResult:
        yield ReplyView(self.text)

    def on_reply_view_copy_requested(self, message: ReplyView.CopyRequested) -> None:
        self.copied.append(message.code)


async def test_markdown_is_drawn_as_formatted_text() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        lines = app.query_one(ReplyView).shown_lines
        assert lines[0] == "Pagination"  # a heading, without its hashes
        assert "Use keyset pagination, not OFFSET." in lines
        assert " 1. index (created_at, id)" in lines and " 2. pass the last key" in lines
        assert any("SELECT * FROM orders WHERE id > $1 LIMIT 50;" in line for line in lines)
        assert any("keyset" in line and "12 ms" in line for line in lines)  # the table, as a table
        assert "See the docs (https://example.com/keyset)." in lines  # a link shows where it goes
        assert lines.count("") == len(view_blocks(app)) - 1  # one blank line between blocks, none doubled


def view_blocks(app: Host) -> list[object]:
    return list(app.query_one(ReplyView).blocks)


async def test_text_is_shown_literally() -> None:
    app = Host("[bold red]not markup[/] and <b>raw</b>\n\n<script>alert(1)</script>\n")
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        lines = app.query_one(ReplyView).shown_lines
        assert lines[0] == "[bold red]not markup[/] and <b>raw</b>"
        assert "<script>alert(1)</script>" in lines  # an HTML block is text, not dropped


async def test_a_reply_streamed_in_deltas_draws_exactly_what_the_whole_text_draws() -> None:
    text = long_reply(1_500)
    streamed, whole = Host(""), Host(text)
    async with streamed.run_test(size=(90, 40)) as pilot:
        view = streamed.query_one(ReplyView)
        for delta in chunks(text, 23):
            view.append(delta)
            if len(view.source) % 7 == 0:
                await pilot.pause()  # drawn part way, as a stream is
        await pilot.pause()
        drawn = [(strip.text, [segment.style for segment in strip]) for strip in view._layout_lines(88)]
    async with whole.run_test(size=(90, 40)) as pilot:
        await pilot.pause()
        expected = [(strip.text, [segment.style for segment in strip])
                    for strip in whole.query_one(ReplyView)._layout_lines(88)]
    assert drawn == expected and len(drawn) > 100


async def test_clicking_a_code_block_copies_its_code_and_clicking_text_does_not() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(ReplyView)
        [row] = view.code_rows()
        await pilot.click(view, offset=(5, 0))
        await pilot.click(view, offset=(5, row))
        await pilot.pause()
        assert app.copied == ["SELECT * FROM orders WHERE id > $1 LIMIT 50;"]


async def test_selected_text_is_the_text_as_shown() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(ReplyView)
        app.screen.selections = {view: Selection(Offset(4, 2), Offset(10, 2))}
        await pilot.pause()
        assert app.screen.get_selected_text() == "keyset"
        plain = view.render_line(2)
        selected = [segment for segment in plain if segment.text == "keyset"]
        assert selected and selected[0].style is not None and selected[0].style.bgcolor is not None


async def test_folding_keeps_the_height_and_unfolding_draws_the_text_again() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(ReplyView)
        height, lines = view.size.height, view.shown_lines
        view.fold()
        await pilot.pause()
        assert view.folded and view.size.height == height and view.shown_lines == []
        assert view.render_line(0).text.strip() == ""
        await view.unfold()
        await pilot.pause()
        assert not view.folded and view.shown_lines == lines


async def test_a_new_width_or_theme_draws_it_again() -> None:
    app = Host()
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(ReplyView)
        paragraph = " ".join(["word"] * 40)
        view.set_text(paragraph)
        await pilot.pause()
        wide = len(view.shown_lines)
        await pilot.resize_terminal(40, 40)
        await pilot.pause()
        assert len(view.shown_lines) > wide  # wrapped to the new width
        dark = view.render_line(0)
        app.theme = "textual-light"
        await pilot.pause()
        light = view.render_line(0)
        assert [s.style for s in dark] != [s.style for s in light]


async def test_a_fold_asked_for_while_unfolding_wins() -> None:
    app = Host(long_reply(1_500))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        view = app.query_one(ReplyView)
        view.fold()
        await pilot.resize_terminal(70, 40)  # a new width: unfolding has blocks to render
        await pilot.pause()
        unfolding = asyncio.create_task(view.unfold())
        await asyncio.sleep(0)  # it has started rendering, a block at a time
        view.fold()
        await unfolding
        assert view.folded and view.shown_lines == []
