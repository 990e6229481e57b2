"""A piece of a reply's Markdown, drawn as one widget, block by block.

Textual's Markdown widget builds a widget for every paragraph, list item and bullet. That is
fine for a page of help, but a long reply streaming at a thousand deltas a second made each
update a layout pass over hundreds of widgets, and the UI fell behind: keys stopped echoing.
Here a piece is one widget. Its top-level blocks (core/mdblocks.py) are rendered with Rich,
cached by block, and an appended delta re-renders only the last block.

The text is shown literally: Rich's Markdown never reads console markup, raw HTML is shown as
text, links show their address instead of hiding it, and control characters were made visible
before the text got here (ui/safe.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.theme import Theme
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.color import Color as TextualColor
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from buddy_tui.display.blocks import Block, MarkdownBlocks
from buddy_tui.display.parts import PART_LINES, block_parts

if TYPE_CHECKING:
    from rich.console import Console


@dataclass(frozen=True)
class Look:
    """What a block's rendering depends on besides its text: the width and the colours."""

    width: int
    theme_name: str
    theme: Theme = field(compare=False)
    code_theme: str
    code_background: str | None
    base: Style


#: Rendered blocks shared by every piece: a piece folded away and shown again, or a reply opened
#: again from history, costs no rendering for the blocks seen before (same text, width, colours).
_RENDERED: LRUCache[tuple[Look, str, str], list[Strip]] = LRUCache(1024)


def _colour(value: str, under: str) -> str | None:
    """A theme variable as a Rich colour (translucent ones blended onto ``under``)."""
    if not value or value in ("transparent", "auto") or value.startswith("auto"):
        return None
    try:
        colour = TextualColor.parse(value)
        if colour.a < 1:
            colour = TextualColor.parse(under) + colour
    except Exception:  # an unparsable theme value: fall back to the terminal's own colour
        return None
    return colour.hex6


def markdown_theme(variables: dict[str, str]) -> Theme:
    """Rich's Markdown styles, taken from the Textual theme's variables."""
    background = variables.get("background", "#000000")

    def style(colour: str, extra: str = "", bgcolor: str = "") -> Style:
        fg = _colour(variables.get(colour, ""), background)
        bg = _colour(variables.get(bgcolor, ""), background) if bgcolor else None
        return Style.parse(extra or "none") + Style(color=fg, bgcolor=bg)

    styles = {f"markdown.h{n}": style(f"markdown-h{n}-color", variables.get(f"markdown-h{n}-text-style", "bold"))
              for n in range(1, 7)}
    styles.update({
        "markdown.code": style("text-accent", "", "panel"),
        "markdown.code_block": style("foreground", "", "panel"),
        "markdown.block_quote": style("foreground-muted", "italic"),
        "markdown.item.bullet": style("text-primary", "bold"),
        "markdown.item.number": style("text-primary"),
        "markdown.link": style("text-primary", "underline"),
        "markdown.link_url": style("foreground-muted"),
        "markdown.hr": style("foreground-muted"),
        "markdown.table.border": style("primary"),
        "markdown.table.header": style("foreground", "bold"),
        "markdown.h1.border": style("primary"),
    })
    return Theme(styles, inherit=True)


#: A code block, list, quote or table longer than twice this many lines (a paragraph longer than
#: twice PARAGRAPH_PART_CHARS) is rendered in parts (display/parts.py), so that a growing one
#: re-renders only its last part.
FENCE_PART_LINES = PART_LINES
#: Characters of Markdown handed to the renderer so far (tests count work with it, not time).
rendered_chars = 0


def render_block(block: Block, console: Console, look: Look) -> list[Strip]:
    """One block as lines ``look.width`` cells wide (from the cache when rendered before)."""
    key = (look, block.kind, block.source)
    strips = _RENDERED.get(key)
    if strips is None:
        strips = _RENDERED[key] = _render_now(block, console, look)
    return strips


def _render_now(block: Block, console: Console, look: Look) -> list[Strip]:
    global rendered_chars
    # Rich's Markdown and Syntax (with Pygments) load with the first reply, not at start.
    from buddy_tui.ui.widgets.markdown_render import render

    rendered_chars += len(block.source)
    return render(block, console, look)


def _with_text(strips: list[Strip]) -> tuple[list[Strip], list[str]]:
    """Rendered lines with the text of each (what selection and tests read)."""
    return strips, [strip.text.rstrip() for strip in strips]


class ReplyView(Widget):
    """A piece of a reply (up to a few thousand characters) as Markdown, in one widget.

    Its code blocks are items of the chat's keyboard navigation (chat_items.py): the piece takes
    focus with :attr:`code_focus` naming the block, which is drawn highlighted; Enter copies it.
    """

    ALLOW_SELECT = True
    COMPONENT_CLASSES: ClassVar[set[str]] = {"reply-view--code-focus"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "copy_code", "Copy the code", id="chat.copy_code"),
    ]
    # It never scrolls: a new virtual size needs no second layout pass (see Transcript).
    virtual_size = Reactive(Size(0, 0), layout=False)

    @dataclass
    class CopyRequested(Message):
        """Copy ``code`` (a code block that was clicked) to the clipboard."""

        code: str

    def __init__(self, text: str = "", folded: int = 0) -> None:
        """``folded``: start folded, as blank space this many lines tall (0: start unfolded)."""
        super().__init__(classes="reply-piece")
        self._blocks = MarkdownBlocks(text)
        self._folded_height = max(1, folded) if folded else 0
        self._look: Look | None = None
        self._cache: list[tuple[Block, list[Strip], list[str]]] = []  # by block, rendered with self._cache_look
        self._cache_look: Look | None = None
        #: The parts of long code blocks as rendered with self._cache_look: by block, by source.
        self._parts: dict[int, dict[str, tuple[list[Strip], list[str]]]] = {}
        self._lines: list[Strip] = []
        self._plain: list[str] = []
        self._owner: list[int] = []  # the block each line belongs to (-1 for the gaps)
        self._stale = True
        self._drawn: dict[int, Strip] = {}  # lines as last handed to the compositor, by row
        self._unfolding = False
        self._refold = False
        #: The code block (an index into :attr:`blocks`) that keyboard navigation is on.
        self.code_focus = -1

    @property
    def source(self) -> str:
        """The Markdown shown."""
        return self._blocks.text

    @property
    def blocks(self) -> list[Block]:
        """The top-level blocks shown, in order."""
        return self._blocks.blocks

    @property
    def folded(self) -> bool:
        """True while the piece stands folded away as blank space (see folding.py)."""
        return self._folded_height > 0

    def fold(self, estimate: int = 0) -> None:
        """Draw blank space as tall as the piece is now, and let its rendered lines go. A piece
        with text not yet drawn takes ``estimate`` lines (if given) instead of being rendered."""
        if self._unfolding:
            self._refold = True  # still folded: stay so when the unfolding ends
            return
        if not self.folded:
            self._folded_height = max(1, estimate if self._stale and estimate else len(self._lines))
            self._lines, self._plain, self._owner, self._cache = [], [], [], []
            self._parts.clear()
            self._drawn.clear()
            self._stale = True
            self.refresh()  # same height: no layout pass

    async def unfold(self) -> None:
        """Show the text again (rendered blocks come from the shared cache, the rest are
        rendered first, a block at a time). A fold asked for meanwhile wins."""
        if self.folded and not self._unfolding:
            self._unfolding, self._refold = True, False
            try:
                await self.prerender()
            finally:
                self._unfolding = False
            if self._refold:
                return
            self._folded_height = 0
            self._changed()

    @property
    def shown_lines(self) -> list[str]:
        """The text of each line as drawn (empty while folded or before the first layout)."""
        return list(self._plain)

    def code_blocks(self) -> list[int]:
        """The indexes of the code blocks in :attr:`blocks`, top to bottom (folded or not)."""
        return [index for index, block in enumerate(self._blocks.blocks) if block.code is not None]

    def block_rows(self, index: int) -> tuple[int, int] | None:
        """The first row and the height of block ``index`` as drawn; None while not laid out."""
        rows = [row for row, owner in enumerate(self._owner) if owner == index]
        return (rows[0], len(rows)) if rows else None

    def allow_focus(self) -> bool:
        """Focusable (by the keyboard navigation) only while the piece holds a code block."""
        return any(block.code is not None for block in self._blocks.blocks)

    def focus_on_click(self) -> bool:
        """A click selects text or copies a block; it never takes focus from the prompt."""
        return False

    def focus_code(self, index: int) -> None:
        """Take focus on code block ``index``, drawn highlighted."""
        self.code_focus = index
        self._drawn.clear()
        self.refresh()
        if not self.has_focus:
            self.focus(scroll_visible=False)

    def on_focus(self) -> None:
        if self.code_focus not in (blocks := self.code_blocks()):
            self.code_focus = blocks[0] if blocks else -1
        self._drawn.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._drawn.clear()
        self.refresh()

    def action_copy_code(self) -> None:
        """Enter on a highlighted code block: copy its code."""
        blocks = self._blocks.blocks
        if 0 <= self.code_focus < len(blocks) and (code := blocks[self.code_focus].code) is not None:
            self.post_message(self.CopyRequested(code))

    def code_rows(self) -> list[int]:
        """The first row of each code block, top to bottom (where a click copies it)."""
        blocks = self._blocks.blocks
        return [row for row, owner in enumerate(self._owner)
                if 0 <= owner < len(blocks) and blocks[owner].code is not None
                and (row == 0 or self._owner[row - 1] != owner)]

    def append(self, text: str) -> None:
        """Add text at the end, and draw it with the next frame."""
        self._blocks.append(text)
        self._changed()

    async def write(self, text: str) -> None:
        """Add a streamed delta, and draw it once its new blocks are rendered (see prerender)."""
        self._blocks.append(text)
        await self.prerender()
        self._changed()

    async def prerender(self) -> None:
        """Render the blocks not rendered yet, one at a time with a pause between them. Left to
        the next frame, a large update held the screen (and every key typed meanwhile) for tens
        of milliseconds; here keys and frames get through between blocks."""
        width = self.size.width
        if not width and isinstance(self.parent, Widget):  # not laid out yet: as wide as it will be
            width = self.parent.size.width - self.styles.gutter.width
        if width <= 0:
            return
        look = self._current_look(width)
        console = self.app.console
        for index, block in enumerate(self._blocks.blocks):
            parts = block_parts(block)
            if len(parts) > 1:
                self._adopt(look)
                done = self._parts.setdefault(index, {})
                for part in parts:
                    if part.source not in done:
                        done[part.source] = _with_text(_render_now(part, console, look))
                        await asyncio.sleep(0)
            elif (look, block.kind, block.source) not in _RENDERED:
                render_block(block, console, look)
                await asyncio.sleep(0)

    def _adopt(self, look: Look) -> None:
        """Forget what was rendered with another look (width or colours)."""
        if self._cache_look is not look:
            self._cache, self._parts, self._cache_look = [], {}, look

    def _rendered(self, index: int, block: Block, console: Console, look: Look) -> tuple[list[Strip], list[str]]:
        """Block ``index`` rendered, with the text of its lines: a long block part by part, its
        parts rendered before (by :meth:`prerender`, or for an earlier update) taken as they are."""
        parts = block_parts(block)
        if len(parts) == 1:
            return _with_text(render_block(block, console, look))
        known = self._parts.get(index, {})
        done = {part.source: known.get(part.source) or _with_text(_render_now(part, console, look))
                for part in parts}
        self._parts[index] = done
        return ([strip for part in parts for strip in done[part.source][0]],
                [text for part in parts for text in done[part.source][1]])

    def set_text(self, text: str) -> None:
        """Show ``text`` instead."""
        self._blocks.set(text)
        self._changed()

    def _changed(self) -> None:
        self._stale = True
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._look = None  # the theme may have changed: render again
        self._stale = True

    def _current_look(self, width: int) -> Look:
        look = self._look
        if look is None or look.width != width:
            app = self.app
            variables = app.theme_variables
            dark = app.current_theme.dark
            look = self._look = Look(width, app.theme, markdown_theme(variables),
                                     "monokai" if dark else "friendly",
                                     _colour(variables.get("panel", ""), variables.get("background", "#000000")),
                                     self.rich_style)
            self._stale = True
        return look

    def _layout_lines(self, width: int) -> list[Strip]:
        """The piece's lines at ``width``: cached blocks reused, changed ones rendered again."""
        look = self._current_look(width)
        if not self._stale:
            return self._lines
        self._adopt(look)
        console = self.app.console
        blocks = self._blocks.blocks
        lines: list[Strip] = []
        owner: list[int] = []
        plain: list[str] = []
        cache: list[tuple[Block, list[Strip], list[str]]] = []
        for index, block in enumerate(blocks):
            if index < len(self._cache) and self._cache[index][0] == block:
                _block, strips, texts = self._cache[index]
            else:
                strips, texts = self._rendered(index, block, console, look)
            cache.append((block, strips, texts))
            if index and strips:
                lines.append(Strip.blank(width, look.base))
                owner.append(-1)
                plain.append("")
            lines.extend(strips)
            plain.extend(texts)
            owner.extend([index] * len(strips))
        self._cache, self._lines, self._owner, self._stale = cache, lines, owner, False
        self._plain = plain  # each line's text, taken once per rendering (not per update)
        self._drawn.clear()
        return lines

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._folded_height or len(self._layout_lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        lines = [] if self.folded else self._layout_lines(width)
        if y >= len(lines):
            return Strip.blank(width, self.rich_style)
        selection = self.text_selection
        if selection is None and (drawn := self._drawn.get(y)) is not None:
            return drawn
        line = lines[y]
        if self.has_focus and 0 <= self.code_focus == self._owner[y]:
            focus_style = self.get_component_rich_style("reply-view--code-focus")
            line = Strip(Segment.apply_style(list(line), post_style=focus_style), line.cell_length)
        if selection is not None and (span := selection.get_span(y)) is not None:
            line = self._highlight(line, *span)
        drawn = line.crop_extend(0, width, self.rich_style).apply_offsets(0, y)
        if selection is None:  # a scroll draws the same lines again: keep them until they change
            self._drawn[y] = drawn
        return drawn

    def _highlight(self, line: Strip, start: int, end: int) -> Strip:
        """``line`` with cells ``start`` to ``end`` (-1: to the end) drawn as selected."""
        length = line.cell_length
        end = length if end == -1 else min(end, length)
        start = min(start, end)
        style = self.screen.get_component_rich_style("screen--selection")
        before, chosen, after = line.divide([start, end, length])
        chosen = Strip(Segment.apply_style(list(chosen), post_style=style), chosen.cell_length)
        return Strip.join([before, chosen, after])

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        return selection.extract("\n".join(self._plain)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._drawn.clear()
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        """A click on a code block copies its code."""
        y = event.y
        if self.folded:
            return
        blocks = self._blocks.blocks
        if 0 <= y < len(self._owner) and 0 <= self._owner[y] < len(blocks):  # a layout may be pending
            block = blocks[self._owner[y]]
            if block.code is not None:
                event.stop()
                self.post_message(self.CopyRequested(block.code))
