"""A Markdown text as its top-level blocks, kept up to date as text is appended.

Replies are drawn block by block (ui/widgets/reply_view.py): a block that is complete never
changes, so its rendering is cached and an appended delta only re-renders the last block. As in
CommonMark, a block can only be changed by text after it while it is the last one: a paragraph
may still become a heading or a table, a list may grow, a fence may close. Everything before the
last block is settled.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
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


def _split(markdown: str) -> list[tuple[int, Block]]:
    lines = markdown.splitlines(keepends=True)
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
        found = _split(self._tail)
        if len(found) > 1:
            self._settled.extend(block for _start, block in found[:-1])
            start = found[-1][0]
            self._tail = "".join(self._tail.splitlines(keepends=True)[start:])
            found = [(0, found[-1][1])]
        self._tail_blocks = [block for _start, block in found]
