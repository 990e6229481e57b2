"""A read-only code view that stays responsive on big files.

Highlighting a few thousand lines with Rich takes a noticeable fraction of a second, so it is done
once, off the UI thread, into ready-made :class:`Strip` lines; the widget then only crops the
visible ones on each frame (Textual's Line API), so scrolling costs the same for 10 lines or 3,000.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

GUTTER_STYLE = Style(dim=True)
THEME = "ansi_dark"  # ANSI colours follow the user's terminal palette


def highlight_lines(code: str, lexer: str) -> list[Strip]:
    """Highlight ``code`` with Pygments (through Rich) into one strip per line, with line numbers.

    Pure computation with a private console: safe to call from a worker thread.
    """
    console = Console(width=10_000, force_terminal=True, color_system="truecolor", legacy_windows=False)
    text = Syntax(code, lexer, theme=THEME, word_wrap=False).highlight(code)
    text.rstrip()
    lines = text.split("\n", allow_blank=True)
    width = len(str(len(lines)))
    strips: list[Strip] = []
    for number, line in enumerate(lines, 1):
        line.expand_tabs(4)
        gutter = Segment(f" {number:>{width}} │ ", GUTTER_STYLE)
        segments = [gutter, *(s for s in line.render(console) if s.text != "\n")]
        strips.append(Strip(segments))
    return strips


def message_lines(message: str) -> list[Strip]:
    """A notice in place of code (binary file, unreadable file...)."""
    return [Strip(list(Text(line, style="italic").render(Console(width=10_000)))) for line in message.splitlines()]


class CodeView(ScrollView):
    """Shows pre-rendered lines; scrolls both ways."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Strip] = []

    @property
    def line_count(self) -> int:
        """How many lines are loaded."""
        return len(self._lines)

    def set_lines(self, lines: list[Strip]) -> None:
        """Replace what is shown and go back to the top."""
        self._lines = lines
        width = max((strip.cell_length for strip in lines), default=0)
        self.virtual_size = Size(width, len(lines))
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """Crop the visible part of one line (Textual's Line API)."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        base = self.rich_style  # the widget's colours under the highlighted tokens
        return self._lines[index].crop_extend(scroll_x, scroll_x + width, base).apply_style(base)
