"""The messages in the chat: the user's questions, the persona's streamed replies, and notes.

Everything from a file, a file name, the user or the model is shown literally: plain text goes
through ``markup=False`` widgets, and replies through :class:`ReplyView` (Rich's Markdown, which
never reads console markup), after control characters have been made visible.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from buddy_tui.context.attachments import find_references, human_size, printable
from buddy_tui.conversation.chat import Retrying, ToolFinished, ToolStarted, TurnFailed, TurnFinished, unrun_summary
from buddy_tui.conversation.errors import Failure
from buddy_tui.conversation.events import AgentEvent, AgentStarted, AgentStatus, AgentUpdate
from buddy_tui.conversation.retries import RetryNotice
from buddy_tui.conversation.session import Session
from buddy_tui.store.records import TurnRecord, Usage
from buddy_tui.ui.safe import shown
from buddy_tui.ui.widgets.agent_panel import AgentPanel
from buddy_tui.ui.widgets.folding import Folder, ReplyBody
from buddy_tui.ui.widgets.prompt import PromptInput
from buddy_tui.ui.widgets.tool_line import ToolLine

NoteKind = Literal["info", "warning", "error"]
#: After a key reaches the prompt, a streaming reply waits this long before drawing more...
TYPING_HOLD = 0.3
#: ...but never longer than this in a row, however fast the typing.
TYPING_MAX_HOLD = 0.6
#: Under a reply cut at the token limit, while it can go on.
CONTINUE_HINT = "Press Enter on an empty prompt or type /continue for the rest."
RETRY_HINT = "Ctrl+R or /retry sends the question again."


class UserMessage(Vertical):
    """A question as the user typed it, with the files that went with it (``path (size ~tokens)``)."""

    def __init__(self, text: str, files: Sequence[str] = ()) -> None:
        super().__init__(classes="message user")
        self.text = text
        self.files = tuple(files)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="author-line"):
            yield Static("You", classes="author", markup=False)
            yield CopyLink()
        yield Static(shown(self.text), classes="body", markup=False)
        if self.files:
            yield Static("  ".join(f"📎 {printable(name)}" for name in self.files), classes="files", markup=False)


class AssistantMessage(ReplyBody):
    """A reply: Markdown that grows as deltas arrive, tool calls in between, a status line under it.

    Each stretch of text between tool calls is its own Markdown segment, so the answer reads in the
    order it happened: text, the tools it used, more text (see :class:`ReplyBody`). An agent the
    lead launched with the Task tool gets its own panel under that call's tool line.
    """

    def __init__(self, author: str, why: str = "", record: TurnRecord | None = None) -> None:
        super().__init__(classes="message assistant")
        self._record = record  # a stored reply to show once mounted (see restore)
        self.author = author
        self.why = why  # why this persona was chosen, when it took over automatically
        self._countdown: Timer | None = None
        self._panels: dict[str, AgentPanel] = {}  # by agent id (the Task call's id)
        self.agents_open = False  # finished agents stay open (/consult) instead of folding
        self.ended = ""  # "cut" or "refused" when the reply ended so (see show_ending)
        self._usage = Usage()
        self._said = ""  # what the status says after "Cut at the token limit." (see show_ending)

    async def on_mount(self) -> None:
        if self._record is not None:
            record, self._record = self._record, None
            await self.restore(record)

    def compose(self) -> ComposeResult:
        with Horizontal(classes="author-line"):
            yield Static(printable(self.author), classes="author", markup=False)
            if self.why:
                yield Static(printable(f"  auto: {self.why}"), classes="why", markup=False)
            yield CopyLink()
        yield Static("thinking…", classes="status", markup=False)

    @property
    def _status_line(self) -> Static:
        return self.query_one(".status", Static)

    @property
    def insert_point(self) -> Widget | None:
        return self._status_line

    def streaming(self) -> None:
        self.status("streaming…  (Esc to stop)")

    @property
    def text(self) -> str:
        """The reply's text so far; for an agent asked directly (/consult), its answer."""
        return super().text or "\n\n".join(panel.body.text for panel in self._panels.values() if panel.body.text)

    @property
    def panels(self) -> list[AgentPanel]:
        """The agents' panels, in the order they started."""
        return list(self._panels.values())

    def status(self, text: str, kind: str = "") -> None:
        """Set the line under the reply."""
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None
        self._status_line.update(text)
        self._status_line.set_classes(f"status {kind}".strip())

    def retrying(self, notice: RetryNotice) -> None:
        """Waiting to try opening the reply again: say why and count the seconds down."""
        deadline = time.monotonic() + notice.wait

        def tick() -> None:
            said = notice.describe(max(0.0, deadline - time.monotonic()))
            self._status_line.update(printable(f"⟳ {said[:1].upper()}{said[1:]}  (Esc to stop)"))

        self.status("", "retrying")
        tick()
        self._countdown = self.set_interval(1.0, tick)

    @staticmethod
    async def _let_typing_through() -> None:
        """Typing comes first: while keys are arriving, hold the next update of the reply (its
        rendering and the frame it needs) until the typing pauses, or for a bounded time."""
        started = time.monotonic()
        while (quiet := time.monotonic() - PromptInput.typed_at) < TYPING_HOLD:
            left = TYPING_MAX_HOLD - (time.monotonic() - started)
            if left <= 0:
                return
            await asyncio.sleep(min(TYPING_HOLD - quiet, left))

    @property
    def folder(self) -> Folder:
        """The closed pieces of this reply and of its open agent panels, for the folding pass."""
        inner = [s for panel in self._panels.values() if not panel.folded for s in panel.body.segments]
        return Folder(self.segments + inner, self._fold, self._unfold)

    async def agent_event(self, event: AgentEvent, changes: Container[str] = ()) -> None:
        """An agent's start, progress or end, drawn in its panel under its Task call's tool line
        (``changes``: the ids of calls that changed a file, as for :meth:`show`)."""
        panel = self._panels.get(event.agent_id)
        if isinstance(event, AgentStarted):
            if panel is not None:  # it was queued and starts now
                panel.started(event)
                return
            self._panels[event.agent_id] = panel = AgentPanel.starting(event)
            await self._place(panel)
        elif panel is None:
            return
        elif isinstance(event, AgentUpdate):
            await panel.update(event, changes)
        elif isinstance(event, AgentStatus):
            panel.waiting(event.status)
        else:
            await panel.ended(event, keep_open=self.agents_open)

    async def _place(self, panel: AgentPanel) -> None:
        """Mount ``panel`` right under its Task call's line (at the end when there is none)."""
        line = self._tool_lines.get(panel.agent_id)
        if line is not None and line.parent is self:
            await self.mount(panel, after=line)
        else:  # asked directly (/consult): the panel is the answer
            await self.add_tool(panel)
            self.status(printable(f"{panel.title} answers in the panel above…  (Esc to stop)"))

    async def _interrupt_agents(self) -> None:
        for panel in self._panels.values():
            await panel.interrupt()

    async def finish(self, text: str, usage: Usage, stop_reason: str | None, refusal: Failure | None = None) -> None:
        """The reply is complete: its tokens, and how it ended when that needs saying (cut at the
        token limit, or declined: ``refusal`` says so and what to do)."""
        await self._render_whole()
        self._pieces = [text]
        if refusal is not None:
            self.show_ending("refused", usage, refusal.text())
        elif stop_reason == "max_tokens":
            self.show_ending("cut", usage)
        else:
            note = " · stopped at the tool-round limit" if stop_reason == "max_rounds" else ""
            self.status(f"{usage.summary()}{note}", "done")

    async def end(self, event: TurnFinished | TurnFailed, root: Path, cut: bool = False,
                  usage: Usage | None = None) -> None:
        """The turn is over: show how it ended and, for a finished reply, the project files it
        names (``cut``: a cut reply failed to go on, and still can; ``usage``: the turn's tokens
        as stored, its agents' included, when known)."""
        if isinstance(event, TurnFailed) and cut:  # it stays cut, and says why it did not go on
            await self._render_whole()
            self.show_ending("cut", event.usage, event.failure.text())
            return
        if isinstance(event, TurnFailed):
            await self.fail(event.failure)
            return
        await self.drain()
        await self._interrupt_agents()  # the turn is over: an agent that never ended will not
        for call in event.unrun:  # cut in the middle of a tool call: say it never ran, where it stopped
            await self.add_tool(self.tool_note(unrun_summary(call), is_error=True))
        await self.finish(event.text, usage or event.usage, event.stop_reason, event.refusal)
        await self.show_references(await asyncio.to_thread(find_references, event.text, root))

    def show_ending(self, state: str, usage: Usage, said: str = "", continuable: bool = True) -> None:
        """Under a reply that was declined (``said``: why, and what to do) or cut at the token
        limit (how to get the rest, while ``continuable``; ``said``: why going on failed)."""
        self.ended, self._usage, self._said = state, usage, said
        if state == "refused":
            self.status(printable(f"⚠ {said} ({usage.summary()})"), "interrupted")
            return
        then = f" {said}" if said else f" {CONTINUE_HINT}" if continuable else ""
        self.status(printable(f"✂ Cut at the token limit.{then} ({usage.summary()})"), "interrupted")

    def offer_continue(self, continuable: bool) -> None:
        """Say (or no longer say) that this reply, cut at the token limit, can go on (with why
        going on did not finish, while that is still the case)."""
        if self.ended == "cut":
            self.show_ending("cut", self._usage, self._said if continuable else "", continuable=continuable)

    async def resume(self) -> None:
        """The reply, cut at the token limit, goes on: new text joins its last piece (so a code
        block or paragraph that was cut reads as one), and its file links come again at the end."""
        await self.query(".references").remove()
        children = list(self.children)
        last = self._segments[-1] if self._segments else None
        if last is not None and children.index(self._status_line) > 0 \
                and children[children.index(self._status_line) - 1] is last.widget:
            await last.widget.unfold()
            self._open = last
        self.ended = ""
        self.status("streaming…  (Esc to stop)")

    async def show_references(self, references: Sequence[tuple[str, int]]) -> None:
        """A row of clickable file references found in the reply."""
        if references:
            row = Horizontal(Static("Files:", classes="reference-label", markup=False),
                             *(ReferenceLink(path, line) for path, line in references), classes="references")
            await self.mount(row)

    async def show(self, event: Retrying | ToolStarted | ToolFinished, changes: Container[str]) -> None:
        """A retry or a tool call in this reply; ``changes``: the ids of calls that changed a file
        (their line offers Undo)."""
        if isinstance(event, Retrying):
            self.retrying(event.notice)
        elif isinstance(event, ToolStarted):
            self._tool_lines[event.call.id] = line = ToolLine(event.call, event.round, event.max_rounds)
            self.status(f"running {event.call.name}…  (Esc to stop)")
            await self.add_tool(line)
        elif event.call.id in self._tool_lines:
            self._tool_lines[event.call.id].finish(event.outcome, event.call.id in changes)

    async def interrupt(self, record: TurnRecord | None = None) -> None:
        """Esc: keep what arrived and say the answer was stopped (a cut reply stopped while it
        went on stays cut: ``record`` says so, and how to go on)."""
        for line in self._tool_lines.values():
            line.stopped()
        await self._interrupt_agents()
        await self._render_whole()
        if record is not None and record.state == "cut":
            self.show_ending("cut", record.usage, record.failure)
            return
        self.status("⏹ Interrupted. The partial answer is kept." if self.text
                    else "⏹ Interrupted before any answer arrived.", "interrupted")

    async def fail(self, failure: Failure) -> None:
        """The call failed: keep any partial text and show what went wrong and what to do."""
        await self._render_whole()
        await self._interrupt_agents()
        self.show_failure(failure.text(), failure.retryable)

    def show_failure(self, text: str, retryable: bool = True) -> None:
        """Mark the reply as failed, with what went wrong and what to do."""
        prefix = "⚠ The answer above is incomplete. " if self.text else "⚠ "
        again = f" {RETRY_HINT}" if retryable else ""
        self.status(printable(f"{prefix}{text}{again}"), "error")

    async def restore(self, record: TurnRecord) -> None:
        """Show a stored reply as it ended: its text and tool calls in order (each agent's run, folded,
        under its Task call), and its final state."""
        lines = await self.show_parts(record.segments())
        for agent in record.agents:
            self._panels[agent.id] = panel = AgentPanel.stored(agent, live=record.state == "streaming")
            line = lines.get(agent.id)
            if line is not None:
                await self.mount(panel, after=line)
            else:
                await self.mount(panel, before=self.insert_point)
        self._pieces = [record.reply]
        if record.state == "complete":
            self.status(record.usage.summary(), "done")
        elif record.state in ("cut", "refused"):
            self.show_ending(record.state, record.usage, record.failure, continuable=False)
        elif record.state == "stopped":
            self.status("⏹ Interrupted. The partial answer is kept." if record.reply
                        else "⏹ Interrupted before any answer arrived.", "interrupted")
        elif record.state == "failed":
            self.show_failure(record.failure)
        elif record.state == "interrupted":
            self.status("⚠ Interrupted: buddy-tui stopped while this reply was streaming"
                        + (" (the part that arrived is kept)" if record.reply else "")
                        + f". {RETRY_HINT}", "error")
        else:
            self.status("Still streaming in another buddy-tui window.", "interrupted")


class CopyLink(Static):
    """``copy`` beside a message's author: copies the message's text (a click, or Enter when the
    keyboard navigation is on it)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "activate", "Copy", id="chat.copy_message")]

    @dataclass
    class CopyRequested(Message):
        """Copy ``text`` (a whole message) to the clipboard."""

        text: str
        what: str

    def __init__(self) -> None:
        super().__init__("copy", classes="copy-link", markup=False)
        self.can_focus = True
        self.tooltip = "Copy this message (click a code block to copy just that)"

    def focus_on_click(self) -> bool:
        return False  # a click copies; the cursor stays where it was

    def action_activate(self) -> None:
        """Enter: copy, as a click does."""
        self.on_click()

    def on_click(self) -> None:
        message = next((a for a in self.ancestors if isinstance(a, AssistantMessage | UserMessage)), None)
        if message is not None:
            what = "the reply" if isinstance(message, AssistantMessage) else "your question"
            self.post_message(self.CopyRequested(message.text, what))


class ReferenceLink(Static):
    """``app/models.py:12`` under a reply; clicking it (or Enter on it) opens the preview at that line."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "activate", "Open", id="chat.open_reference")]

    @dataclass
    class Opened(Message):
        """Open ``path`` (project-relative) at ``line``."""

        path: str
        line: int

    def __init__(self, path: str, line: int) -> None:
        super().__init__(printable(f"{path}:{line}"), markup=False, classes="reference")
        self.path = path
        self.line = line
        self.can_focus = True
        self.tooltip = "Open in the preview"

    def focus_on_click(self) -> bool:
        return False  # opening moves focus to the preview itself

    def action_activate(self) -> None:
        """Enter: open, as a click does."""
        self.on_click()

    def on_click(self) -> None:
        self.post_message(self.Opened(self.path, self.line))


class Note(Static):
    """A message from buddy-tui itself (not from the model): help, warnings, errors."""

    def __init__(self, text: str, kind: NoteKind = "info") -> None:
        super().__init__(shown(text), markup=False, classes=f"note {kind}")


class Greeting(Static):
    """The first note: who is ready and how to start, styled without Markdown (see markdown_note).
    ``parts`` are plain strings, shown literally, or ``(text, style)`` pairs."""

    def __init__(self, *parts: str | tuple[str, str]) -> None:
        self.source = "".join(part if isinstance(part, str) else part[0] for part in parts)
        super().__init__(Content.assemble(*((printable(part), "") if isinstance(part, str) else
                                            (printable(part[0]), part[1]) for part in parts)),
                         classes="note info greeting")


def greeting(session: Session) -> ComposeResult:
    """Who is ready, how to start, and anything found wrong with the persona files; part of the
    first frame (composed, not mounted later), so the chat is there as soon as the app is."""
    persona = session.current
    code = "$text-accent"
    parts: list[str | tuple[str, str]] = [
        (" ".join(persona.title.split()), "bold"), f" is ready. {' '.join(persona.summary.split())}\n\n",
        "Select a file in the tree to attach it, mention one as ", ("@path", code),
        ", ask a question, or type ", ("/", code), " for commands. The best expert for each question is "
        "chosen as you type (F2 to pick another, F3 to pin one)."]
    if session.memory:
        parts.append("\n\nProject memory in the system prompt: ")
        for index, memory in enumerate(session.memory):
            parts += [", " if index else "", (memory.path, code), f" ({human_size(len(memory.text.encode()))})"]
        parts.append(".")
    yield Greeting(*parts)
    for override in session.catalog.overrides:
        yield Note(override)
    if problems := session.catalog.problems:
        yield Note(f"{len(problems)} project file(s) (personas, commands, memory, manifests) could not be used: "
                   "/problems shows which, and why.", "warning")
    for redacted in session.catalog.redacted:
        yield Note(f"{redacted.path.name}: secret-looking values were redacted before it goes to the model "
                   "(/problems shows which kinds and lines).", "warning")
    if lenient := {problem.path for problem in session.catalog.lenient}:
        yield Note(f"{len(lenient)} persona or command file(s) are not strict YAML and were read leniently: "
                   "/problems shows where.")
