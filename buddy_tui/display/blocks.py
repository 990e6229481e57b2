"""A Markdown text as its top-level blocks, kept up to date as text is appended.

Replies are drawn block by block (ui/widgets/reply_view.py): a block that is complete never
changes, so its rendering is cached and an appended delta only re-renders the last block. As in
CommonMark, a block can only be changed by text after it while it is the last one: a paragraph
may still become a heading or a table, a list may grow, a fence may close. Everything before the
last block is settled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@dataclass(frozen=True)
class Block:
    """One top-level block: its Markdown source, and for a code block its code and language."""

    source: str
    kind: str  # markdown-it's token type for the block: "paragraph_open", "fence", "table_open", ...
    code: str | None = None
    language: str = ""


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser (GitHub-flavoured: tables, strikethrough, autolinks), built once."""
    from markdown_it import MarkdownIt

    return MarkdownIt("gfm-like")


def split_blocks(markdown: str) -> list[Block]:
    """``markdown``'s top-level blocks, in order (blank lines between them dropped)."""
    return [block for _start, block in _split(markdown)]


def split_blocks_at(markdown: str) -> list[tuple[int, Block]]:
    """``markdown``'s top-level blocks, each with the offset of the character it starts at, so
    that a caller can keep only the text from the last block on (``ask --format markdown``)."""
    starts = list(accumulate((len(line) for line in _lines(markdown)), initial=0))
    return [(starts[line], block) for line, block in _split(markdown)]


_NEWLINE = re.compile(r"\r\n?|\n")


def _lines(text: str) -> list[str]:
    """``text`` cut into lines as markdown-it counts them (only CR, LF and CRLF end a line, not
    U+2028, form feed and the other characters ``str.splitlines`` also breaks at), ends kept."""
    lines: list[str] = []
    start = 0
    for match in _NEWLINE.finditer(text):
        lines.append(text[start:match.end()])
        start = match.end()
    if start < len(text):
        lines.append(text[start:])
    return lines


def _split(markdown: str) -> list[tuple[int, Block]]:
    lines = _lines(markdown)
    found: list[tuple[int, Block]] = []
    for token in parser().parse(markdown):
        if token.level != 0 or token.map is None or token.nesting == -1:
            continue
        start, end = token.map
        source = "".join(lines[start:end]).rstrip("\n")
        if token.type in ("fence", "code_block"):
            block = Block(source, token.type, token.content.removesuffix("\n"), token.info.strip().split(" ")[0])
        else:
            block = Block(source, token.type)
        found.append((start, block))
    return found


class MarkdownBlocks:
    """A growing Markdown text and its blocks; :meth:`append` re-parses only the last block."""

    def __init__(self, text: str = "") -> None:
        self._settled: list[Block] = []
        self._tail = ""  # the text from the start of the last block on
        self._tail_blocks: list[Block] = []
        self.set(text)

    @property
    def text(self) -> str:
        """The whole text (rebuilt from the blocks' sources is not the same: blank lines go)."""
        return self._text

    @property
    def blocks(self) -> list[Block]:
        """Every block so far; all but the last are settled."""
        return self._settled + self._tail_blocks

    @property
    def settled(self) -> int:
        """How many leading blocks can no longer change."""
        return len(self._settled)

    def set(self, text: str) -> None:
        """Replace the text."""
        self._text, self._settled, self._tail, self._tail_blocks = "", [], "", []
        self.append(text)

    def append(self, fragment: str) -> None:
        """Add text at the end."""
        if not fragment:
            return
        self._text += fragment
        self._tail += fragment
        # Only whole lines can settle a block: "fixed in\n#" + "42" is one paragraph, not a
        # paragraph and then a heading, so a block starting on the unfinished line proves nothing.
        whole = max(self._tail.rfind("\n"), self._tail.rfind("\r")) + 1
        done = _split(self._tail[:whole]) if whole else []
        if len(done) > 1:
            self._settled.extend(block for _start, block in done[:-1])
            self._tail = "".join(_lines(self._tail)[done[-1][0]:])
        self._tail_blocks = [block for _start, block in _split(self._tail)]
