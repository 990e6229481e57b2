"""``buddy-tui ask --format markdown``: the reply rendered for a terminal with Rich, block by block.

A top-level Markdown block can change only while it is the last one (a paragraph may still turn
into a heading or a table, a fence may still close), so each block is printed once the next one
has begun and the last one when the reply ends (:class:`~buddy_tui.headless.settling.SettlingBlocks`
finds them in linear time). What the model wrote is shown literally: control characters become
visible symbols before Rich sees them, console markup is off, and raw HTML stays as text (Rich
would drop it). This module imports Rich, so it is imported only when this format is chosen.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.markdown import Markdown
from rich.segment import Segment, Segments
from rich.text import Text

from buddy_tui.context.attachments import printable
from buddy_tui.display.blocks import Block
from buddy_tui.headless.settling import SettlingBlocks
from buddy_tui.headless.streams import Output, write_flushed


class LiteralMarkdown(Markdown):
    """Rich's Markdown with inline HTML kept as the text it is, and links written out."""

    def __init__(self, source: str) -> None:
        super().__init__(source, hyperlinks=False)
        for token in self.parsed:
            for child in token.children or ():
                if child.type == "html_inline":
                    child.type = "text"


def renderable(block: Block) -> Markdown | Text:
    """What Rich draws for one block; an HTML block is plain text."""
    source = printable(block.source)
    return Text(source) if block.kind == "html_block" else LiteralMarkdown(source)


class MarkdownOutput(Output):
    """Prints each settled block as soon as it is settled, separated by blank lines; the terminal's
    width is Rich's (80 columns when stdout is not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.console = Console(file=stream, markup=False, highlight=False, emoji=False)
        self.blocks = SettlingBlocks()
        self.shown = 0

    def delta(self, text: str) -> None:
        self._show(self.blocks.append(text))

    def finish(self) -> None:
        self._show(self.blocks.finish())

    def _show(self, blocks: list[Block]) -> None:
        for block in blocks:
            rendered = self.render(block)
            write_flushed(self.stream, ("\n" if self.shown and rendered else "") + rendered)
            self.shown += 1

    def render(self, block: Block) -> str:
        """One block as terminal text (styled when stdout is a terminal), without the blank lines
        Rich puts around some blocks: the gaps between blocks are set here."""
        colour = self.console.color_system is not None  # without colour a background is not seen
        lines = [_trimmed(line, colour)
                 for line in self.console.render_lines(renderable(block), self.console.options, pad=False)]
        start, end = 0, len(lines)
        while start < end and not lines[start]:
            start += 1
        while end > start and not lines[end - 1]:
            end -= 1
        segments: list[Segment] = []
        for line in lines[start:end]:
            segments += [*line, Segment.line()]
        with self.console.capture() as captured:
            self.console.print(Segments(segments), end="")
        return captured.get()


def _trimmed(line: list[Segment], colour: bool) -> list[Segment]:
    """``line`` without the spaces Rich pads it with at the right, unless they show a background
    (a code block's); an empty list for a line with nothing to see."""
    kept = list(line)
    while kept:
        last = kept[-1]
        if last.control or (colour and last.style is not None and last.style.bgcolor is not None):
            break
        text = last.text.rstrip()
        if text:
            kept[-1] = Segment(text, last.style)
            break
        kept.pop()
    return kept
