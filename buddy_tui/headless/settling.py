"""The blocks of a streamed Markdown reply that can be printed, found in linear time.

``ask --format markdown`` prints a top-level block once the next one has begun (only the last
block can still change). Re-parsing the unsettled tail after every fragment costs the tail's
length each time, so a long block (a 33 KB list, a big table) made the whole reply quadratic:
49 s of CPU. Here the tail is parsed again when the whole lines added since the last parse are
at least a quarter of it, so every character is parsed a bounded number of times; and sooner when
a line looks like the start of a new block (a heading or a fence line, or a line at the margin
after a blank one that is not a list item), as long as such early parses have cost less than
:data:`EARLY_CREDIT` times the text received. The work stays linear, the end of a long list or
table shows as soon as the next block starts, and the reply's end always shows everything.
"""

from __future__ import annotations

import re

from buddy_tui.display.blocks import Block, split_blocks, split_blocks_at

#: The tail is parsed again when the whole lines added since the last parse are at least
#: 1/GROWTH of it.
GROWTH = 4
#: Parses prompted by a line that may begin a block cost at most this many characters for
#: each character received.
EARLY_CREDIT = 2
_LINE_END = re.compile(r"\r\n?|\n")
#: A line that begins a block whatever comes before it (a heading, a fence).
_OPENER = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|```|~~~)")
#: A list item at the margin: after a blank line it continues a list rather than ending it.
_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


class SettlingBlocks:
    """A growing Markdown text that hands out each top-level block once it is settled."""

    def __init__(self) -> None:
        self._pieces: list[str] = []  # the text from the start of the first unsettled block on
        self._size = 0  # characters in _pieces
        self._whole = 0  # of them, how many are whole lines (up to the last line end)
        self._parsed = 0  # how many whole-line characters the last parse saw
        self._line: list[str] = []  # the unfinished line
        self._blank = True  # whether the last whole line was blank
        self._received = 0  # characters received in all
        self._early = 0  # characters parsed by parses a likely block start prompted

    def append(self, fragment: str) -> list[Block]:
        """Add ``fragment``; the blocks it settled (often none), in order."""
        if not fragment:
            return []
        self._pieces.append(fragment)
        end = max(fragment.rfind("\n"), fragment.rfind("\r"))
        if end >= 0:  # only whole lines can settle a block ("fixed in\n#" + "42" is one paragraph)
            self._whole = self._size + end + 1
        self._size += len(fragment)
        self._received += len(fragment)
        if end < 0:
            self._line.append(fragment)
        starts = end >= 0 and self._starts_block(fragment)
        if self._whole == self._parsed:
            return []
        if (self._whole - self._parsed) * GROWTH < self._whole:  # not grown enough to parse for that alone
            if not starts or self._early + self._whole > EARLY_CREDIT * self._received:
                return []
            self._early += self._whole
        tail = "".join(self._pieces)
        done = split_blocks_at(tail[:self._whole])
        self._parsed = self._whole
        if len(done) < 2:
            self._pieces = [tail]
            return []
        cut = done[-1][0]
        self._pieces = [tail[cut:]]
        self._size -= cut
        self._whole -= cut
        self._parsed -= cut
        return [block for _start, block in done[:-1]]

    def _starts_block(self, fragment: str) -> bool:
        """Whether a line that ``fragment`` completes may begin a new top-level block."""
        lines = _LINE_END.split("".join(self._line) + fragment)
        self._line = [lines.pop()]
        starts = False
        for line in lines:
            if _OPENER.match(line) or (self._blank and line[:1] not in ("", " ", "\t") and not _ITEM.match(line)):
                starts = True
            self._blank = not line.strip()
        return starts

    def finish(self) -> list[Block]:
        """The blocks still held back: the text has ended, so they are all settled."""
        tail = "".join(self._pieces)
        self._pieces, self._size, self._whole, self._parsed, self._line = [], 0, 0, 0, []
        return split_blocks(tail)
