"""Rendering one Markdown block with Rich, for :mod:`reply_view` (imported with the first reply:
Rich's Markdown and Syntax bring Pygments with them, which the start of the app does without).

Rich's Markdown is adjusted to read like a chat: headings at the left margin, numbered items as
"1.", code blocks on the theme's panel colour, inline HTML kept as text instead of dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from rich.color import Color
from rich.markdown import CodeBlock, Heading, ListItem, Markdown as RichMarkdown
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text
from textual.strip import Strip

from buddy_tui.display.blocks import Block, parser

if TYPE_CHECKING:
    from markdown_it.token import Token
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.style import Style
    from rich.theme import Theme


class RenderLook(Protocol):
    """What :func:`render` reads of a block's look (reply_view.Look, which reply_view makes before
    this module is loaded): declared here so that the two modules do not import each other."""

    @property
    def width(self) -> int: ...
    @property
    def theme(self) -> Theme: ...
    @property
    def code_theme(self) -> str: ...
    @property
    def code_background(self) -> str | None: ...
    @property
    def base(self) -> Style: ...


class _LeftHeading(Heading):
    """Headings at the left margin (Rich centres the first level), as a chat reads."""

    LEVEL_ALIGN: ClassVar = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")


class _Code(CodeBlock):
    """A code block on the theme's panel colour, padded by one cell at the sides."""

    @classmethod
    def create(cls, markdown: RichMarkdown, token: Token) -> _Code:
        block = cls((token.info or "").partition(" ")[0] or "text", markdown.code_theme)
        block.background = getattr(markdown, "code_background", None)  # type: ignore[attr-defined]
        return block

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Syntax(str(self.text).rstrip(), self.lexer_name, theme=self.theme, word_wrap=True, padding=(0, 1),
                     background_color=getattr(self, "background", None))


class _Item(ListItem):
    """A list item whose number reads "1." as written, not a bare "1"."""

    def render_number(self, console: Console, options: ConsoleOptions, number: int,
                      last_number: int) -> RenderResult:
        gutter = len(str(last_number)) + 3  # digits, the full stop and a space, after one space
        style = console.get_style("markdown.item.number", default="none")
        body = console.render_lines(self.elements, options.update(width=options.max_width - gutter), style=self.style)
        for row, line in enumerate(body):
            yield Segment(f"{number}.".rjust(gutter - 1) + " " if row == 0 else " " * gutter, style)
            yield from line
            yield Segment.line()


class _Markdown(RichMarkdown):
    elements: ClassVar = {**RichMarkdown.elements, "heading_open": _LeftHeading, "fence": _Code,
                          "code_block": _Code, "list_item_open": _Item}

    def __init__(self, markup: str, code_theme: str, code_background: str | None) -> None:
        # Rich's own __init__ builds a new parser for every document, which cost more than
        # rendering a block; these are the attributes it sets, parsed with the shared parser.
        self.markup = markup
        self.parsed = parser().parse(markup)
        for token in self.parsed:  # inline HTML is shown as the text it is (Rich would drop it)
            for child in token.children or ():
                if child.type == "html_inline":
                    child.type = "text"
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = False
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme
        self.code_background = code_background


def render(block: Block, console: Console, look: RenderLook) -> list[Strip]:
    """One block as lines ``look.width`` cells wide, without the blank lines Rich puts around some."""
    if block.kind == "html_block":  # shown as the text it is
        renderable: Text | _Markdown = Text(block.source)
    else:
        renderable = _Markdown(block.source, look.code_theme, look.code_background)
    options = console.options.update(width=max(1, look.width), height=None, highlight=False, markup=False)
    console.push_theme(look.theme)
    try:
        lines = console.render_lines(renderable, options, style=look.base, pad=False)
    finally:
        console.pop_theme()
    start, end = 0, len(lines)  # Rich pads some blocks with blank lines; the gaps are ours to set
    background = look.base.bgcolor
    while start < end and _blank(lines[start], background):
        start += 1
    while end > start and _blank(lines[end - 1], background):
        end -= 1
    return [Strip(line) for line in lines[start:end]]


def _blank(line: list[Segment], background: Color | None) -> bool:
    """A line with nothing to see: no text, and no background of its own (a code block's has)."""
    return all(not segment.text.strip() and (segment.style is None or segment.style.bgcolor in (None, background))
               for segment in line)
