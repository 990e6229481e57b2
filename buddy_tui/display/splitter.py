"""Where a growing Markdown answer can be cut into pieces that render on their own.

A long answer is shown as several Markdown widgets rather than one, so a piece far from the
view can be folded away (see ui/widgets/folding.py) and layout stays cheap however long the
answer grows. A cut is only made where it cannot change the rendering: before a line that starts
a new top-level block (it follows a blank line and is not indented) outside any code fence, once
the current piece has at least ``size`` characters.
"""

from __future__ import annotations

import re

#: Characters a piece grows to before it may be cut (a few screens of text).
PIECE_CHARS = 3_000
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


class BlockSplitter:
    """Fed the answer fragment by fragment; returns each fragment split at the cut points."""

    def __init__(self, size: int = PIECE_CHARS) -> None:
        self.size = size
        self._length = 0  # characters in the current piece
        self._line: list[str] = []  # the current (incomplete) line so far, in the parts that came
        self._fence = ""  # the open fence's marker, "" outside fences
        self._after_blank = False

    def feed(self, fragment: str) -> list[str]:
        """``fragment`` cut into parts; every part but the last ends a piece. It goes a line at a
        time (a cut can only come at the start of one), so a long line costs no more than its
        length, however many fragments it comes in."""
        parts: list[str] = []
        start = pos = 0
        while pos < len(fragment):
            if not self._line:  # the start of a line: where a piece may end
                char = fragment[pos]
                if char != "\n" and self._after_blank and not self._fence and not char.isspace() \
                        and self._length >= self.size:
                    parts.append(fragment[start:pos])
                    start, self._length = pos, 0
                if char != "\n":
                    self._after_blank = self._after_blank and char.isspace()
            newline = fragment.find("\n", pos)
            end = len(fragment) if newline < 0 else newline
            if end > pos:
                self._line.append(fragment[pos:end])
            self._length += end - pos
            if newline < 0:
                break
            self._end_line()
            self._length += 1
            pos = newline + 1
        parts.append(fragment[start:])
        return parts

    def _end_line(self) -> None:
        line, self._line = "".join(self._line), []
        fence = _FENCE.match(line)
        if self._fence:
            if fence and fence.group(1)[0] == self._fence[0] and len(fence.group(1)) >= len(self._fence) \
                    and not line.strip()[len(fence.group(1)):].strip():
                self._fence = ""
        elif fence:
            self._fence = fence.group(1)
        self._after_blank = not line.strip()
