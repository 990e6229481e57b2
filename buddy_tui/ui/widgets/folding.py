"""Keep only the part of the conversation near the view as live Markdown.

A long answer full of tables and code becomes thousands of widgets, and every layout pass visits
all of them: a 20,000-token answer made the whole app lag seconds behind and stop echoing keys.
Replies are therefore made of pieces (see core/splitter.py), and a piece that is more than a
screen away from the view is *folded*: its :class:`ReplyView` drops its rendered lines and draws
blank space of the same height (no widget is mounted or removed, so folding needs no layout
pass). When the view comes near it again it is unfolded, rendered afresh from its text. The text
itself is never dropped, so copying, exporting and retrying see all of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from textual.geometry import Region

from buddy_tui.ui.widgets.reply_view import ReplyView


@dataclass
class Segment:
    """One piece of a reply: its text, and the widget showing it."""

    widget: ReplyView
    pieces: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The piece's text."""
        return "".join(self.pieces)

    @property
    def folded(self) -> bool:
        """True while the piece is folded away."""
        return self.widget.folded


@dataclass(frozen=True)
class Folder:
    """What a message offers the folding pass: its closed pieces, and how to (un)fold one."""

    segments: Sequence[Segment]
    fold: Callable[[Segment], Awaitable[None]]
    unfold: Callable[[Segment], Awaitable[None]]


def estimate_height(text: str, width: int) -> int:
    """About how many lines ``text`` takes as Markdown ``width`` cells wide (for a piece that is
    folded before it was ever shown; unfolding it gives the true height)."""
    usable = max(20, width - 4)
    lines = sum(max(1, -(-len(line) // usable)) for line in text.splitlines())
    return lines + text.count("\n\n") // 2


def near(region: Region, view: Region) -> bool:
    """Is ``region`` within one view-height of ``view`` (above or below)?"""
    top, bottom = view.y - view.height, view.bottom + view.height
    return region.bottom >= top and region.y <= bottom


async def refold(folders: Iterable[Folder], view: Region) -> int:
    """Fold the pieces far from ``view`` and unfold those near it; returns how many changed."""
    changed = 0
    for folder in folders:
        for segment in list(folder.segments):
            region = segment.widget.region
            if not region.height and not segment.folded:
                continue  # not laid out yet
            if segment.folded and near(region, view):
                await folder.unfold(segment)
                changed += 1
            elif not segment.folded and not near(region, view):
                await folder.fold(segment)
                changed += 1
    return changed
