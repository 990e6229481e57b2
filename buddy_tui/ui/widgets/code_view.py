"""A read-only code view that stays responsive on big files.

Highlighting a few thousand lines with Rich takes a noticeable fraction of a second, so it is done
once, off the UI thread, into ready-made :class:`Strip` lines; the widget then only crops the
visible ones on each frame (Textual's Line API), so scrolling costs the same for 10 lines or 3,000.
"""

from __future__ import annotations

import time
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.actions import SkipAction
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GUTTER_STYLE = Style(dim=True)
THEME = "ansi_dark"  # ANSI colours follow the user's terminal palette


def highlight_lines(code: str, lexer: str) -> list[Strip]:
    """Highlight ``code`` with Pygments (through Rich) into one strip per line, with line numbers.

    Pure computation with a private console: safe to call from a worker thread.
    """
    console = Console(width=10_000, force_terminal=True, color_system="truecolor", legacy_windows=False)
    from rich.syntax import Syntax  # with Pygments: loaded when the first file is shown, not at start

    text = Syntax(code, lexer, theme=THEME, word_wrap=False).highlight(code)
    text.rstrip()
    lines = text.split("\n", allow_blank=True)
    width = len(str(len(lines)))
    strips: list[Strip] = []
    for number, line in enumerate(lines, 1):
        if number % 64 == 0:
            time.sleep(0)  # let the UI thread have the GIL now and then: it has keys to answer
        line.expand_tabs(4)
        gutter = Segment(f" {number:>{width}} │ ", GUTTER_STYLE)
        segments = [gutter, *(s for s in line.render(console) if s.text != "\n")]
        # Measured here, in the worker, so the UI thread never walks every segment of every line.
        strips.append(Strip(segments, cell_length=sum(cell_len(s.text) for s in segments)))
    return strips


def message_lines(message: str) -> list[Strip]:
    """A notice in place of code (binary file, unreadable file...)."""
    return [Strip(list(Text(line, style="italic").render(Console(width=10_000)))) for line in message.splitlines()]


class CodeView(ScrollView):
    """Shows pre-rendered lines; scrolls both ways; a line cursor and a selection of lines.

    Up/Down move the cursor, Shift+Up/Down extend the selection, Esc clears it. The selection is
    what :class:`FilePreview` attaches.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"code-view--cursor", "code-view--selection"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Line up", show=False),
        Binding("down", "move(1)", "Line down", show=False),
        Binding("shift+up", "move(-1, True)", "Select up", show=False),
        Binding("shift+down", "move(1, True)", "Select down", show=False),
        Binding("escape", "clear_selection", "Clear selection", show=False),
    ]

    cursor: reactive[int | None] = reactive(None)
    mark: reactive[int | None] = reactive(None)  # where the selection started

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Strip] = []

    @property
    def line_count(self) -> int:
        """How many lines are loaded."""
        return len(self._lines)

    @property
    def selection(self) -> tuple[int, int] | None:
        """The selected lines as (first, last), 0-based and inclusive; None without a selection."""
        if self.cursor is None or self.mark is None:
            return None
        return (min(self.cursor, self.mark), max(self.cursor, self.mark))

    def set_lines(self, lines: list[Strip]) -> None:
        """Replace what is shown and go back to the top."""
        self._lines = lines
        self.cursor = self.mark = None
        width = max((strip.cell_length for strip in lines), default=0)
        self.virtual_size = Size(width, len(lines))
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def go_to_line(self, line: int) -> None:
        """Put the cursor on ``line`` (1-based) and scroll it to the middle of the view."""
        if not self._lines:
            return
        self.cursor = max(0, min(line - 1, len(self._lines) - 1))
        self.mark = None
        self.scroll_to(y=max(0, self.cursor - self.size.height // 2), animate=False)

    def action_move(self, step: int, extend: bool = False) -> None:
        """Move the cursor (extending the selection when asked), keeping it in view."""
        if not self._lines:
            return
        if extend and self.mark is None:
            self.mark = self.cursor if self.cursor is not None else self.scroll_offset.y
        elif not extend:
            self.mark = None
        start = self.cursor if self.cursor is not None else self.scroll_offset.y - step
        self.cursor = max(0, min(start + step, len(self._lines) - 1))
        self.scroll_to_region(Region(0, self.cursor, 1, 1), animate=False)

    def action_clear_selection(self) -> None:
        """Drop the selection and the cursor."""
        if self.cursor is None and self.mark is None:
            raise SkipAction()  # let Esc do its job elsewhere (stopping a reply)
        self.cursor = self.mark = None

    def watch_cursor(self) -> None:
        self.refresh()

    def watch_mark(self) -> None:
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """Crop the visible part of one line (Textual's Line API)."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        base = self.rich_style  # the widget's colours under the highlighted tokens
        selection = self.selection
        if selection is not None and selection[0] <= index <= selection[1]:
            base = base + self.get_component_rich_style("code-view--selection")
        elif index == self.cursor:
            base = base + self.get_component_rich_style("code-view--cursor")
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
