"""An agent's run in the chat: a panel under the lead's Task tool line.

The header names the agent in its front-matter colour, then the Task's description and a live
status (queued, streaming…, running Grep…, waiting for approval, done in 12 s · in 3.1k out 640,
failed: why). Under it, the agent's own reply streams as Markdown with its tool lines, drawn by
the same :class:`ReplyBody` as the lead's reply. A finished panel folds to its header; Enter or
a click on the header opens and closes it (the header is a chat item, like a tool line's).

Everything from the agent file and the model is shown literally: a colour is looked up among
Claude Code's names, never read as a style, and text goes into :class:`Content` as plain text.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets.collapsible import CollapsibleTitle

from buddy_tui.context.attachments import printable
from buddy_tui.conversation.events import (
    AgentEnded,
    AgentStarted,
    AgentUpdate,
    Counted,
    Retrying,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from buddy_tui.store.records import AgentRecord, Usage
from buddy_tui.store.wording import duration_text
from buddy_tui.tools.specs import ToolResult
from buddy_tui.ui.widgets.chat_header import compact
from buddy_tui.ui.widgets.folding import ReplyBody
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.tool_line import ToolLine

#: Claude Code's agent colours, as styles that read on dark and light themes.
COLOURS = {"red": "#e5534b", "blue": "#539bf5", "green": "#57ab5a", "yellow": "#c69026", "purple": "#a371f7",
           "orange": "#e0823d", "pink": "#e275ad", "cyan": "#39c5cf"}
#: For an agent without a colour, or with one Claude Code does not know.
NEUTRAL = "$text-accent"
#: How the status reads in each kind of state.
STATUS_STYLES = {"running": "italic", "waiting": "bold $text-warning", "done": "$text-success",
                 "failed": "$text-error", "capped": "$text-warning", "interrupted": "$text-warning"}
#: A longer Task description is cut in the header (the header stays one line on most screens).
DESCRIPTION_CHARS = 60
#: Seconds a finished agent's last lines stay in sight before its panel folds.
FOLD_AFTER = 1.0


def colour_style(color: str) -> str:
    """The style of an agent's name: its front-matter colour if Claude Code knows it, else neutral."""
    return f"bold {COLOURS.get(color.strip().lower(), NEUTRAL)}"


def ended_status(state: str, why: str, usage: Usage, seconds: float) -> tuple[str, str]:
    """The status of an agent that ended (``state``: done, failed, capped, stopped or
    interrupted) and its kind, for the style."""
    if state == "done":
        return f"done in {duration_text(seconds)} · {compact(usage)}", "done"
    if state in ("failed", "capped"):
        return f"{state}: {' '.join(why.split()) or 'no reason given'}", state
    return "interrupted", "interrupted"


class AgentTitle(CollapsibleTitle):
    """The panel's header line: ▶ or ▼, then the agent, its task and its status. A chat item:
    Enter or a click opens or closes the panel."""


class AgentWindow(VerticalScroll, can_focus=False):
    """Around the agent's whole reply, shown once the panel is opened after the run (while it runs,
    :class:`AgentTail` shows its last lines instead)."""


class AgentTail(ReplyView, can_focus=False):
    """While the agent runs: the last few lines of its reply, redrawn in place. Once it is as tall
    as it gets, an update changes no size, so it costs a repaint of these rows, never a layout
    pass (which reflows the whole screen: with several agents streaming, most of the app's time)."""

    ROWS = 8

    def _changed(self) -> None:
        self._stale = True
        self.refresh(layout=self.size.height < self.ROWS)

    def code_blocks(self) -> list[int]:
        return []  # not a chat item: the panel's header is, and the whole reply once it is shown

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return min(self.ROWS, len(self._layout_lines(width)))

    def render_line(self, y: int) -> Strip:
        lines = self._layout_lines(self.size.width)
        return super().render_line(y + max(0, len(lines) - self.size.height))


class AgentBody(ReplyBody):
    """The agent's streamed reply and its tool lines."""

    def __init__(self) -> None:
        super().__init__(classes="agent-body")

    def streaming(self) -> None:
        panel = next((a for a in self.ancestors if isinstance(a, AgentPanel)), None)
        if panel is not None:
            panel.activity("streaming…")


@dataclass
class _Header:
    title: str
    color: str
    description: str


class AgentPanel(Vertical):
    """One agent run: a header with a live status over the agent's reply; folds when finished."""

    virtual_size = Reactive(Size(0, 0), layout=False)  # see Transcript

    def __init__(self, agent_id: str, title: str, color: str = "", description: str = "", *,
                 folded: bool = False, status: str = "queued", kind: str = "running") -> None:
        super().__init__(classes="agent-panel")
        self.agent_id = agent_id
        self._header = _Header(title, color, description)
        self.status, self.kind = status, kind
        self.state = "queued"  # queued, running, then how it ended
        self.folded = folded
        self._activity = "streaming…"  # what it does when not waiting for a person
        self._stored: AgentRecord | None = None  # a stored run, drawn when first opened
        self.usage = Usage()  # its tokens so far (all of them once it ended)
        self._title = AgentTitle(label=self._label(), collapsed_symbol="▶", expanded_symbol="▼", collapsed=folded)
        self.body = AgentBody()
        #: While it runs: its last lines. The whole reply (``body``) is drawn once it is shown.
        self._tail = AgentTail()
        self._parts: list[str | ToolLine] = []  # the run so far, for drawing the whole reply later
        self._outcomes: dict[str, tuple[ToolResult, bool]] = {}  # finished calls: result, undoable
        self._built = folded  # a stored run (folded) is drawn from its record instead
        self.set_class(folded, "-folded")
        self.set_class(not folded, "-live")  # while it runs, the window shows the end of its reply
        self._fold_timer: Timer | None = None

    @classmethod
    def starting(cls, event: AgentStarted) -> AgentPanel:
        """A panel for an agent just launched (or queued)."""
        panel = cls(event.agent_id, event.title or event.name, event.color, event.description)
        panel.started(event)
        return panel

    @classmethod
    def stored(cls, record: AgentRecord, live: bool) -> AgentPanel:
        """A stored run, folded; one still ``running`` or ``queued`` in a turn that is not
        streaming any more (``live``) was interrupted."""
        state = record.state
        if state in ("queued", "running") and not live:
            state = "interrupted"
        if state in ("queued", "running"):
            status, kind = ("queued" if state == "queued" else "streaming…"), "running"
        else:
            status, kind = ended_status(state, record.why, record.usage, record.seconds)
        panel = cls(record.id, record.title or record.name, record.color, record.description, folded=True,
                    status=status, kind=kind)
        panel.state, panel.usage = state, record.usage
        panel._stored = record
        panel.body._pieces = [record.reply]
        return panel

    def compose(self) -> ComposeResult:
        yield self._title
        yield self._tail
        yield AgentWindow(self.body)

    @property
    def title(self) -> str:
        """The agent's display name."""
        return self._header.title

    @property
    def finished(self) -> bool:
        """True once the run is over (however it ended)."""
        return self.state not in ("queued", "running")

    @property
    def header_text(self) -> str:
        """The header as plain text (what the folded panel shows)."""
        return self._label().plain

    def _label(self) -> Content:
        header = self._header
        description = " ".join(header.description.split())
        if len(description) > DESCRIPTION_CHARS:
            description = description[: DESCRIPTION_CHARS - 1] + "…"
        parts: list[str | tuple[str, str]] = [(printable(header.title), colour_style(header.color))]
        if description:
            parts.append(f"  {printable(description)}")
        parts += [" · ", (printable(self.status), STATUS_STYLES.get(self.kind, ""))]
        return Content.assemble(*parts)

    def show_status(self, text: str, kind: str = "running") -> None:
        """Say what the agent is doing, or how it ended."""
        self.status, self.kind = text, kind
        self._title.label = self._label()

    def activity(self, text: str) -> None:
        """What the agent does now (streaming…, running Grep…), shown unless a person is awaited."""
        self._activity = text
        if self.kind == "running" and not self.finished:
            self.show_status(text)

    # ----------------------------------------------------------------- folding
    @on(CollapsibleTitle.Toggle)
    async def _toggled(self, event: CollapsibleTitle.Toggle) -> None:
        event.stop()
        await self.fold(not self.folded)

    async def fold(self, folded: bool) -> None:
        """Fold the panel to its header, or open it (a stored run is drawn when first opened)."""
        if self._fold_timer is not None:  # the person's choice wins over the fold to come
            self._fold_timer.stop()
            self._fold_timer = None
        if self.finished:
            self.remove_class("-live")  # opened again: the whole reply
            if not folded:
                await self._build()
        if not folded and self._stored is not None:
            stored, self._stored = self._stored, None
            await self.body.show_parts(stored.segments())
        self.folded = folded
        self._title.collapsed = folded
        self.set_class(folded, "-folded")

    # ----------------------------------------------------------------- the run's events
    def started(self, event: AgentStarted) -> None:
        """Launched, or queued (``event.queued``) until fewer agents run."""
        self._header = _Header(event.title or event.name, event.color, event.description)
        self.state = "queued" if event.queued else "running"
        self.show_status("queued" if event.queued else self._activity)

    async def update(self, event: AgentUpdate, changes: Container[str] = ()) -> None:
        """Something from the agent's own stream (``changes``: the ids of calls that changed a
        file; their line offers Undo)."""
        if self.finished:
            return
        inner = event.event
        if isinstance(inner, TextDelta):
            self._tail.append(inner.text)
            self._parts.append(inner.text)
            if self._activity != "streaming…":
                self.activity("streaming…")
            return
        if isinstance(inner, ToolStarted):
            self.body._tool_lines[inner.call.id] = line = ToolLine(inner.call, inner.round, inner.max_rounds)
            self.activity(f"running {inner.call.name}…")
            self._parts.append(line)
        elif isinstance(inner, ToolFinished):
            self._outcomes[inner.call.id] = (inner.outcome, inner.call.id in changes)
            self.activity("streaming…")
        elif isinstance(inner, Retrying):
            said = inner.notice.describe(inner.notice.wait)
            self.show_status(f"⟳ {said}", "waiting")
        elif isinstance(inner, Counted):
            self.usage = inner.usage
            if self.kind == "waiting" and self.status.startswith("⟳"):
                self.show_status(self._activity)  # the retry went through

    def waiting(self, status: str) -> None:
        """Waiting for a person (``waiting for approval``), or ``running`` again."""
        if self.finished:
            return
        if status == "running":
            self.show_status(self._activity)
        else:
            self.show_status(status, "waiting")

    async def ended(self, event: AgentEnded, keep_open: bool = False) -> None:
        """The run is over: its final status; the panel folds unless ``keep_open``."""
        if self.finished:
            return
        if not any(isinstance(part, str) for part in self._parts) and event.text:  # it came whole
            self._tail.append(event.text)
            self._parts.append(event.text)
        self.state = "interrupted" if event.outcome == "stopped" else event.outcome
        self.usage = event.usage
        self.show_status(*ended_status(self.state, event.why, event.usage, event.seconds))
        if keep_open:
            self.remove_class("-live")
            await self._build()
        else:  # the end stays in sight a moment, then the panel folds (the whole reply is drawn if opened)
            self._fold_timer = self.set_timer(FOLD_AFTER, self._fold_now)

    async def _fold_now(self) -> None:
        self._fold_timer = None
        await self.fold(True)

    async def interrupt(self) -> None:
        """Esc, or the turn ended without this agent: keep what arrived and say so."""
        if self.finished:
            return
        self.state = "interrupted"
        self.remove_class("-live")
        self.show_status("interrupted", "interrupted")
        await self._build()

    async def _build(self) -> None:
        """Draw the whole reply, with its tool lines, from what the run sent (once)."""
        if self._built:
            return
        self._built = True
        for part in self._parts:
            if isinstance(part, str):
                self.body.feed(part)
                continue
            await self.body.drain()
            await self.body.add_tool(part)
            if (done := self._outcomes.get(part.call.id)) is not None:
                part.finish(*done)
            elif self.finished:
                part.stopped()
        await self.body._render_whole()
