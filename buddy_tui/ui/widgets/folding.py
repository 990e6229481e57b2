"""Keep only the part of the conversation near the view as live Markdown.

A long answer full of tables and code becomes thousands of widgets, and every layout pass visits
all of them: a 20,000-token answer made the whole app lag seconds behind and stop echoing keys.
Replies are therefore made of pieces (see core/splitter.py), and a piece that is more than a
screen away from the view is *folded*: its :class:`ReplyView` drops its rendered lines and draws
blank space of the same height (no widget is mounted or removed, so folding needs no layout
pass). When the view comes near it again it is unfolded, rendered afresh from its text. The text
itself is never dropped, so copying, exporting and retrying see all of it.

:class:`ReplyBody` is how a reply made of pieces grows: text arrives as deltas and is drawn by its
own task, which takes everything that arrived meanwhile in one go (a slow render means fewer,
larger updates, never a queue that falls behind); each stretch of text between tool calls is its
own segment, cut into pieces at block boundaries. The lead's reply and each agent's panel are one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from textual.containers import Vertical
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.widget import MountError, Widget
from textual.widgets import Static

from buddy_tui.context.attachments import printable
from buddy_tui.display.splitter import BlockSplitter
from buddy_tui.store.records import ToolNote
from buddy_tui.tools.specs import ToolCall
from buddy_tui.ui.safe import shown
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.tool_line import ToolLine, describe_call


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


#: A piece closed with at least this much text after it in the same update is off screen when
#: the view follows the reply (a screen is about 2,000 characters), so it starts folded.
FOLD_AHEAD = 3_000


class ReplyBody(Vertical):
    """Markdown that grows as deltas arrive, tool calls in between.

    Subclasses say where new widgets go (:attr:`insert_point`), what to show once text streams
    (:meth:`streaming`) and how to hold back for the person's typing (:meth:`_let_typing_through`).
    """

    virtual_size = Reactive(Size(0, 0), layout=False)  # see Transcript

    def __init__(self, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._pieces: list[str] = []  # the text so far; joined only when read
        self._segments: list[Segment] = []
        self._open: Segment | None = None
        self._splitter = BlockSplitter()
        self._incoming: list[str] = []
        self._renderer: asyncio.Task[None] | None = None
        self._tool_lines: dict[str, ToolLine] = {}  # by call id

    @property
    def text(self) -> str:
        """The text so far (all segments)."""
        return "".join(self._pieces)

    @property
    def insert_point(self) -> Widget | None:
        """New text and tool lines are mounted before this widget (None: at the end)."""
        return None

    def streaming(self) -> None:
        """A new stretch of text has started arriving."""

    async def _let_typing_through(self) -> None:
        """Hold the next update while the person types: as the reply this one sits in does."""
        outer = next((a for a in self.ancestors if isinstance(a, ReplyBody)), None)
        if outer is not None:
            await outer._let_typing_through()

    @property
    def _following(self) -> bool:
        """True while the transcript follows the end of the chat."""
        holder = next((a for a in self.ancestors if hasattr(a, "at_bottom")), None)
        return bool(getattr(holder, "at_bottom", False))

    def feed(self, fragment: str) -> None:
        """Take a delta and render it soon (see the module's docstring)."""
        self._incoming.append(fragment)
        if self._renderer is None or self._renderer.done():
            self._renderer = asyncio.create_task(self._render_incoming())

    async def _render_incoming(self) -> None:
        while self._incoming:
            await self._let_typing_through()
            text = "".join(self._incoming)
            self._incoming.clear()
            try:
                await self.append(text)
            except MountError:  # the app is closing
                return
            except Exception as exc:
                self.log.error(f"rendering a reply failed: {exc!r}")
                with contextlib.suppress(MountError):
                    await self._close_segment()
                    await self.mount(Static(shown(text), markup=False), before=self.insert_point)

    async def drain(self) -> None:
        """Wait until every delta fed so far is on screen."""
        while self._renderer is not None and not self._renderer.done():
            await self._renderer

    async def append(self, fragment: str) -> None:
        """Add text now. Whole pieces that arrive together with more text after them start
        folded (they are off screen by the time the rest is shown); folding unfolds them if near."""
        self._pieces.append(fragment)  # appending a str per delta would copy the reply each time
        parts = self._splitter.feed(fragment)
        following = self._following
        for index, part in enumerate(parts):
            if index:  # a cut point: what follows starts a new piece
                closed = self._open
                await self._close_segment()
                if closed is not None and following and sum(map(len, parts[index:])) >= FOLD_AHEAD:
                    closed.widget.fold(estimate_height(closed.text, self.size.width))
            if not part:
                continue
            if 0 < index < len(parts) - 1:
                view = ReplyView(shown(part), folded=estimate_height(part, self.size.width))
                await self.mount(view, before=self.insert_point)
                self._segments.append(Segment(view, [part]))
            else:
                await self._write(part)

    async def _write(self, part: str) -> None:
        """Append to the open piece. Its blocks are re-parsed from the last one on, so what a
        streamed piece shows is what the whole text shows (tests/test_mdblocks.py): a finished
        reply needs no second render."""
        if self._open is None:
            view = ReplyView()
            await self.mount(view, before=self.insert_point)
            self._open = Segment(view)
            self._segments.append(self._open)
            self.streaming()
        self._open.pieces.append(part)
        await self._open.widget.write(shown(part))

    async def _close_segment(self) -> None:
        self._open = None

    async def add_tool(self, line: Widget) -> None:
        """Show a tool call where it happened; text after it starts a new segment."""
        await self._close_segment()
        self._splitter = BlockSplitter()
        await self.mount(line, before=self.insert_point)

    @staticmethod
    def tool_note(summary: str, is_error: bool) -> Static:
        """A tool call as one plain line: a stored one shown again, or one that never ran."""
        return Static(printable(f"🔧 {summary}"), classes="tool-note error" if is_error else "tool-note", markup=False)

    @property
    def segments(self) -> list[Segment]:
        """The closed pieces, for the folding pass."""
        return [s for s in self._segments if s is not self._open]

    @property
    def folder(self) -> Folder:
        """The closed pieces of this reply, for the folding pass."""
        return Folder(self.segments, self._fold, self._unfold)

    async def _fold(self, segment: Segment) -> None:
        segment.widget.fold()

    async def _unfold(self, segment: Segment) -> None:
        await segment.widget.unfold()

    async def _render_whole(self) -> None:
        """Wait for the last delta to be drawn, then redraw only a piece whose text reads
        differently whole than delta by delta (the API key split across two deltas)."""
        await self.drain()
        await self._close_segment()
        for segment in list(self._segments):
            widget = segment.widget  # folding may swap it meanwhile: a removed widget is skipped
            whole = shown(segment.text)
            if (isinstance(widget, ReplyView) and widget.parent is not None
                    and whole != "".join(shown(piece) for piece in segment.pieces)):
                widget.set_text(whole)

    async def show_parts(self, parts: Sequence[str | ToolNote]) -> dict[str, Widget]:
        """Mount stored text and tool notes in order (a reply shown again); returns the tool
        notes' lines by call id."""
        lines: dict[str, Widget] = {}
        for part in parts:
            self._splitter = BlockSplitter()  # the last text's, should the reply go on (resume)
            if isinstance(part, ToolNote):
                line = self.tool_note(part.summary or describe_call(ToolCall(part.id, part.name, part.input)),
                                      part.is_error)
                await self.mount(line, before=self.insert_point)
                lines[part.id] = line
            else:
                for piece in self._splitter.feed(part):
                    view = ReplyView(shown(piece))
                    await self.mount(view, before=self.insert_point)
                    self._segments.append(Segment(view, [piece]))
        return lines
