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


@cache
def block_parser() -> MarkdownIt:
    """The same parser with only its block rules: where blocks begin and end does not depend on
    the text inside them, and inline parsing (links above all) was most of the cost of a split."""
    return parser().__class__("gfm-like").disable(["inline", "linkify", "text_join"], ignoreInvalid=True)


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
    for token in block_parser().parse(markdown):
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


#: A fence opening at the left margin: its marker and info string, on a whole line.
_OPENING = re.compile(r"(`{3,}|~{3,})([^\r\n]*)\n")
#: A line that might close a fence (checked loosely: a match only means "parse it properly").
_CLOSING = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$", re.MULTILINE)
#: Parse runs of the whole tail, counted (for tests that prove the work per append is bounded).
parse_count = 0


class _OpenFence:
    """The tail is a code fence that has not closed yet. While no line that could close it
    arrives, the tail stays that one block, which is built without parsing: re-parsing a long code
    block on every append cost time that grew with the square of its length."""

    def __init__(self, marker: str, info: str) -> None:
        self.marker = marker
        self.language = info.strip().split(" ")[0]
        self.scanned = 0  # where the tail's next unchecked line starts

    @classmethod
    def of(cls, tail: str) -> _OpenFence | None:
        """The fence ``tail`` opens when it is one (at the left margin, its first line whole)."""
        match = _OPENING.match(tail)
        if match is None or (match.group(1)[0] == "`" and "`" in match.group(2)):
            return None
        fence = cls(match.group(1), match.group(2))
        fence.scanned = match.end()
        return fence

    def grown(self, tail: str) -> Block | None:
        """The tail as one block, when nothing after its last check could close the fence."""
        if "\r" in tail[self.scanned:]:
            return None
        for line in _CLOSING.finditer(tail, self.scanned):
            marker = line.group(1)
            if marker[0] == self.marker[0] and len(marker) >= len(self.marker):
                return None
        self.scanned = tail.rfind("\n") + 1  # the unfinished last line is checked again
        if tail[self.scanned:] and not tail[self.scanned:].strip(" \t"):
            tail = tail[:self.scanned]  # a last line of blanks alone is not part of the block yet
        first = tail.index("\n") + 1
        return Block(tail.rstrip("\n"), "fence", tail[first:].removesuffix("\n"), self.language)


_BULLET = re.compile(r"([-*+]) [\w*`_\[(]")
_ORDERED = re.compile(r"\d{1,9}([.)]) [\w*`_\[(]")
_NESTED = re.compile(r" {4,}\S")  # inside the last item, whatever its marker's width


class _OpenRun:
    """The tail is one list, quote or table, still growing. While every line added since is one
    more item (or a line indented into the last one), quote line or row, the tail stays that one
    block, built without parsing: parsing a long list again per append cost time that grew with
    the square of its length. Any other line (a blank one, a lazy continuation, another block)
    is parsed properly."""

    def __init__(self, kind: str, marker: str, pipes: int, lead: int, scanned: int) -> None:
        self.kind = kind
        self.marker = marker  # a list's bullet, or its numbers' delimiter
        self.pipes = pipes  # a table's header's pipes: a row with fewer might end the table
        self.lead = lead  # where the block starts in the tail (blank lines before it are not in it)
        self.scanned = scanned  # where the tail's unchecked lines start

    @classmethod
    def of(cls, tail: str, kind: str, source: str) -> _OpenRun | None:
        """The run that ``tail`` (one block of ``kind``, its text ``source``) is, if it is one."""
        lead = tail.find(source) if source else -1
        if lead < 0 or "\r" in tail or "\n" not in source:
            return None
        first = source[:source.index("\n")]
        marker, pipes = "", 0
        if kind in ("bullet_list_open", "ordered_list_open"):
            match = (_BULLET if kind == "bullet_list_open" else _ORDERED).match(first)
            if match is None:
                return None
            marker = match.group(1)
        elif kind == "table_open" and first.startswith("|") and first.rstrip().endswith("|"):
            pipes = first.count("|") - first.count("\\|")
        elif kind != "blockquote_open":
            return None
        return cls(kind, marker, pipes, lead, tail.rfind("\n") + 1)

    def continues(self, line: str) -> bool:
        """Whether a whole line can only go on with the run."""
        if self.kind == "blockquote_open":
            return line.startswith(">")
        if self.kind == "table_open":
            return line.startswith("|") and line.count("|") - line.count("\\|") >= self.pipes
        if _NESTED.match(line):
            return True
        match = (_BULLET if self.kind == "bullet_list_open" else _ORDERED).match(line)
        return match is not None and match.group(1) == self.marker and not _THEMATIC.match(line)

    def pending(self, line: str) -> bool:
        """Whether an unfinished last line stays in the run whatever it turns into (the start of
        one more item, or a line that can only continue one)."""
        if not line.strip(" ") or self.continues(line):
            return True
        if self.kind == "table_open":  # a row still coming: fewer cells are filled in, not an end
            return line.startswith("|")
        if self.kind == "bullet_list_open":
            return line in (self.marker, self.marker + " ")
        return self.kind == "ordered_list_open" and re.fullmatch(r"\d{1,9}(" + re.escape(self.marker) + " ?)?",
                                                                 line) is not None

    def grown(self, tail: str) -> Block | None:
        """The tail as one block, when every line after its last check continues the run."""
        position = self.scanned
        while (newline := tail.find("\n", position)) >= 0:
            if not self.continues(tail[position:newline]):
                return None
            position = newline + 1
        if not self.pending(tail[position:]):
            return None
        self.scanned = position  # the unfinished last line is checked again
        end = len(tail) if tail[position:].strip(" ") else position  # a line of blanks alone is not in it yet
        return Block(tail[self.lead:end].rstrip("\n"), self.kind)


#: A thematic break ("- - -", "***"): never one more item of a list.
_THEMATIC = re.compile(r" {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")


class MarkdownBlocks:
    """A growing Markdown text and its blocks; :meth:`append` re-parses only the last block, and
    a long code block still open not at all."""

    def __init__(self, text: str = "") -> None:
        self._settled: list[Block] = []
        self._tail = ""  # the text from the start of the last block on
        self._tail_blocks: list[Block] = []
        self._pieces: list[str] = []
        self._fence: _OpenFence | None = None
        self._run: _OpenRun | None = None
        self._one_line = False  # the tail holds no line break yet
        self.set(text)

    @property
    def text(self) -> str:
        """The whole text (rebuilt from the blocks' sources is not the same: blank lines go)."""
        if len(self._pieces) > 1:  # joined when asked for: adding to a str per delta copied it each time
            self._pieces = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

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
        self._pieces, self._settled, self._tail, self._tail_blocks, self._fence = [], [], "", [], None
        self._run = None
        self._one_line = False
        self.append(text)

    def append(self, fragment: str) -> None:
        """Add text at the end."""
        global parse_count
        if not fragment:
            return
        self._pieces.append(fragment)
        self._tail += fragment
        if self._fence is not None and (block := self._fence.grown(self._tail)) is not None:
            self._tail_blocks = [block]
            return
        self._fence = None
        if self._run is not None and (block := self._run.grown(self._tail)) is not None:
            self._tail_blocks = [block]
            return
        self._run = None
        if self._one_line and not ("\n" in fragment or "\r" in fragment) and self._tail[:1].isalpha():
            self._tail_blocks = [Block(self._tail, "paragraph_open")]  # a line that starts with a letter
            return  # is a paragraph until it ends, whatever else it holds: no need to parse it again
        self._one_line = not ("\n" in self._tail or "\r" in self._tail)
        parse_count += 1
        # Only whole lines can settle a block: "fixed in\n#" + "42" is one paragraph, not a
        # paragraph and then a heading, so a block starting on the unfinished line proves nothing.
        whole = max(self._tail.rfind("\n"), self._tail.rfind("\r")) + 1
        done = _split(self._tail[:whole]) if whole else []
        if len(done) > 1:
            self._settled.extend(block for _start, block in done[:-1])
            self._tail = "".join(_lines(self._tail)[done[-1][0]:])
        self._tail_blocks = [block for _start, block in _split(self._tail)]
        if len(self._tail_blocks) == 1 and self._tail_blocks[0].kind == "fence":
            self._fence = _OpenFence.of(self._tail)  # checked from the next append on
        elif len(self._tail_blocks) == 1:
            block = self._tail_blocks[0]
            self._run = _OpenRun.of(self._tail, block.kind, block.source)
