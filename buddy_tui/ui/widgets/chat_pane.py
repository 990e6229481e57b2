"""The chat side of the screen: persona header, transcript, prompt; and the turn being streamed.

Data flows one way. The session (core) interprets what was typed and builds the request; a worker
streams it and only posts :class:`ChatPane.TurnEvent` messages; the handlers here own the
widgets. Esc cancels the worker, which closes the HTTP stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widget import MountError, Widget
from textual.widgets import Input, Static

from buddy_tui.context.attachments import (
    Attachment,
    ContextError,
    find_references,
    human_size,
    is_sensitive,
    load_attachment,
    printable,
)
from buddy_tui.conversation.batching import batched
from buddy_tui.conversation.chat import (
    ChatEvent,
    Retrying,
    TextDelta,
    ToolCall,
    ToolFinished,
    ToolResult,
    ToolStarted,
    TurnFailed,
    TurnFinished,
    stream_turn,
)
from buddy_tui.conversation.client import Connection, connect, endpoint, precheck
from buddy_tui.conversation.session import AppAction, Refusal, Session, TurnPlan
from buddy_tui.personas.persona import Persona
from buddy_tui.store.records import TurnRecord
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.ui.safe import literal
from buddy_tui.ui.widgets import attachments, connecting, experts, history_view, sending
from buddy_tui.ui.widgets.prompt import PromptBar
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.sending import Turn
from buddy_tui.ui.widgets.tool_line import ToolLine
from buddy_tui.ui.widgets.transcript import CopyLink, Greeting, Note, NoteKind, Transcript

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


class ChatPane(Vertical):
    """Shows the session's conversation and streams new turns."""

    @dataclass
    class TurnEvent(Message):
        """An event from the core's stream, tagged with the turn it belongs to."""

        turn_id: int
        event: ChatEvent

    @dataclass
    class Connected(Message):
        """The client has been built (or could not be)."""

        client: AsyncAnthropic | None
        connection: Connection

    @dataclass
    class Attached(Message):
        """A file was read for attaching (or could not be)."""

        attachment: Attachment | None
        error: str

    @dataclass
    class AskUser(Message):
        """The tool runner needs the user's answer; the screen's result resolves ``answer``."""

        screen: ModalScreen[Any]
        answer: asyncio.Future[Any]

    @dataclass
    class AppCommand(Message):
        """The user ran an app command (``/help``, ``/persona x``...) for the app to carry out."""

        name: str
        arguments: str

    def __init__(self, session: Session, *, resume_latest: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.resume_latest = resume_latest  # --continue
        self.client: AsyncAnthropic | None = None
        self.connection: Connection | None = None
        self.turn: Turn | None = None
        self.override: Persona | None = None  # picked with F2 for the next message only
        self.unsent: TurnRecord | None = None  # the last question that got no full answer, for /retry
        self.runner = ToolRunner(session.root, session.rules, self._ask,
                                 keep=session.config.remember_tool_permissions)
        self._asking: ChatPane.AskUser | None = None
        self._tool_lines: dict[str, ToolLine] = {}
        self._turn_ids = 0
        self._waiting: Callable[[], Awaitable[None]] | None = None  # what to do once the client is ready
        self._connecting = False
        self._fold_timer: Timer | None = None

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-header"):
            yield Static(id="persona-name", markup=False)
            yield Static(printable(self._where(endpoint())), id="connection", markup=False)
        yield Static("", id="usage", markup=False)
        with Transcript(id="transcript"):
            yield from self._greeting()
        yield PromptBar(self.session.catalog.commands, id="prompt")

    @property
    def transcript(self) -> VerticalScroll:
        """The scrolling list of messages."""
        return self.query_one("#transcript", VerticalScroll)

    @property
    def prompt(self) -> PromptBar:
        """The prompt bar."""
        return self.query_one(PromptBar)

    @property
    def busy(self) -> bool:
        """True while a reply is streaming."""
        return self.turn is not None

    def _greeting(self) -> ComposeResult:
        """Who is ready, how to start, and anything found wrong with the persona files; part of the
        first frame (composed, not mounted later), so the chat is there as soon as the app is."""
        persona = self.session.current
        code = "$text-accent"
        parts: list[str | tuple[str, str]] = [
            (" ".join(persona.title.split()), "bold"), f" is ready. {' '.join(persona.summary.split())}\n\n",
            "Select a file in the tree to attach it, mention one as ", ("@path", code),
            ", ask a question, or type ", ("/", code), " for commands. The best expert for each question is "
            "chosen as you type (F2 to pick another, F3 to pin one)."]
        if self.session.memory:
            parts.append("\n\nProject memory in the system prompt: ")
            for index, memory in enumerate(self.session.memory):
                parts += [", " if index else "", (memory.path, code), f" ({human_size(len(memory.text.encode()))})"]
            parts.append(".")
        yield Greeting(*parts)
        for override in self.session.catalog.overrides:
            yield Note(override)
        if problems := self.session.catalog.problems:
            yield Note(f"{len(problems)} persona or command file(s) could not be read: /problems shows "
                       "which, and why.", "warning")

    async def on_mount(self) -> None:
        self.refresh_header()
        self.transcript.anchor()
        self.watch(self.transcript, "scroll_y", self.fold_soon, init=False)
        self.set_interval(0.5, self._flush_checkpoint)
        await history_view.startup(self, self.resume_latest)
        if (early := precheck()) is not None:  # no credentials anywhere: say so now, SDK not needed
            self._connecting = True
            self.post_message(self.Connected(None, early))

    async def on_unmount(self) -> None:
        if (turn := self.turn) is not None:  # quitting mid-reply is a stop, not a crash: save it so
            self.turn = None
            turn.log.stop()
            self.session.end_turn(turn.log)
        if self.client is not None:
            await self.client.close()

    def _flush_checkpoint(self) -> None:
        """While a reply streams: save text that arrived before a pause in the stream."""
        if self.turn is not None and self.turn.log.pending():
            self.session.save(self.turn.log)

    @work(thread=True, group="connect")
    def _connect(self) -> None:
        client, connection = connect(self.session.settings)
        self.post_message(self.Connected(client, connection))

    @on(Connected)
    async def _connected(self, event: Connected) -> None:
        self.client, self.connection = event.client, event.connection
        self.show_connection()
        if not event.connection.ready:
            await self.add(Note(event.connection.message, "warning"))
        if (waiting := self._waiting) is not None:
            self._waiting = None
            self.update_activation()
            await waiting()

    def show_connection(self) -> None:
        """The model and where requests go (again after /model picks another model)."""
        connection = self.connection
        state = "" if connection is None or connection.ready else " · no API key"
        base = connection.base_url if connection is not None else endpoint()
        self.query_one("#connection", Static).update(printable(self._where(base) + state))

    def refresh_header(self) -> None:
        """Show the current persona (pinned or not) with its description on hover."""
        persona = self.session.current
        pin = "  📌 pinned" if self.session.pinned else ""
        label = self.query_one("#persona-name", Static)
        label.update(printable(f"● {persona.title}{pin}"))
        label.tooltip = literal(f"{persona.name} ({persona.source}): {persona.description}")

    async def add(self, widget: Widget) -> None:
        """Append a widget to the transcript (which follows the bottom while the user is there)."""
        with contextlib.suppress(MountError):  # the app is closing (Ctrl+Q during start-up)
            await self.transcript.mount(widget)

    async def note(self, text: str, kind: NoteKind = "info") -> None:
        """Show a message from buddy-tui itself."""
        await self.add(Note(text, kind))

    # ----------------------------------------------------------------- connecting, folding (connecting.py)
    connect_now = connecting.connect_now
    when_connected = connecting.when_connected
    _where = connecting.where
    fold_soon = connecting.fold_soon
    _fold_now = connecting.fold_now

    # ----------------------------------------------------------------- who answers (experts.py)
    suggestion = experts.suggestion
    update_activation = experts.update_activation
    cycle_persona = experts.cycle_persona
    toggle_pin = experts.toggle_pin

    @on(Input.Changed, "#prompt-input")
    def _typed(self, event: Input.Changed) -> None:
        if event.value.strip():  # a question is coming: load the SDK meanwhile
            self.connect_now()
        self.update_activation()

    # ----------------------------------------------------------------- attachments (attachments.py)
    attach = attachments.attach
    manage_files = attachments.manage_files
    on_chat_pane_attached = attachments.on_attached
    _describe = attachments.describe
    _attach_if = attachments.attach_if
    _attach_now = attachments.attach_now

    _send_within_budget = sending.send_within_budget
    _budget_decided = sending.budget_decided

    # ----------------------------------------------------------------- history (history_view.py)
    retry = history_view.retry
    show_usage = history_view.show_usage
    show_problems = history_view.show_problems
    open_conversation = history_view.open_conversation
    export = history_view.export
    copy = history_view.copy
    copy_text = history_view.copy_text
    cost = history_view.cost

    # ----------------------------------------------------------------- sending
    @on(PromptBar.Submitted)
    async def _submitted(self, event: PromptBar.Submitted) -> None:
        attached = [a.path for a in self.prompt.attachments]
        plan = await asyncio.to_thread(self.session.interpret, event.text, attached, self.override)
        if isinstance(plan, Refusal):
            await self.note(plan.message, "warning")
            return
        if isinstance(plan, AppAction):
            self.prompt.input.value = ""
            self.post_message(self.AppCommand(plan.name, plan.arguments))
            return
        if self.busy:
            self.app.notify("A reply is still streaming: press Esc to stop it, or wait.", severity="warning")
            return
        text = event.text
        if await self.when_connected(lambda: self._submitted(PromptBar.Submitted(self.prompt, text))):
            return
        sensitive = [p for p in plan.mentions if is_sensitive(p)]
        if not sensitive:
            await self._send(plan, set())
            return
        from buddy_tui.ui.screens.confirm import confirm

        names = ", ".join(self._describe(p) for p in sensitive)

        def decided(answer: str | None) -> None:
            if answer is None:  # Esc: nothing is sent, the question stays in the prompt
                return
            self.call_later(self._send, plan, set() if answer == "yes" else set(sensitive))

        self.app.push_screen(confirm(
            f"Send {names}?", f"{names} looks like it holds secrets (keys, passwords, tokens); its "
            "contents would be sent to the model. Esc cancels sending.", yes="Send it", no="Leave it out"),
            decided)

    async def _send(self, plan: TurnPlan, skip: set[Path]) -> None:
        chips = self.prompt.take_attachments()
        attachments = list(chips)
        for path in plan.mentions:
            if path in skip:
                continue
            try:
                attachment = await asyncio.to_thread(load_attachment, path, self.session.root)
            except ContextError as exc:
                await self.note(f"Not attached: {exc}", "warning")
                continue
            if all(a.key != attachment.key for a in attachments):
                attachments.append(attachment)
        from buddy_tui.context.secrets import redact_attachments, scan_attachments  # loaded when first needed
        from buddy_tui.ui.screens.secrets import secrets_found

        findings = await asyncio.to_thread(scan_attachments, attachments)
        if not findings:
            await self._send_within_budget(plan, chips, attachments)
            return

        def decided(choice: str | None) -> None:
            if choice == "send":
                self.call_later(self._send_within_budget, plan, chips, attachments)
            elif choice == "redact":
                self.call_later(self._send_within_budget, plan, chips, redact_attachments(attachments, findings))
            else:
                self._restore_text(plan.typed, chips)

        self.app.push_screen(secrets_found(findings), decided)

    def _restore_text(self, typed: str, chips: list[Attachment]) -> None:
        """Put an unsent question and its chips back in the prompt."""
        for attachment in chips:
            self.prompt.add_attachment(attachment)
        if not self.prompt.input.value:
            self.prompt.input.value = typed
            self.prompt.input.cursor_position = len(typed)

    @work(exclusive=True, group="chat", exit_on_error=False)
    async def _stream(self, turn_id: int, request: dict[str, Any], tools: tuple[str, ...], persona: str) -> None:
        assert self.client is not None

        async def execute(call: ToolCall) -> ToolResult:
            return await self.runner.execute(call, tools, persona)

        def retrying(event: Retrying) -> None:
            self.post_message(self.TurnEvent(turn_id, event))

        events = stream_turn(self.client, request, execute if tools else None, on_retry=retrying)
        async for event in batched(events):  # deltas joined: a few updates a second, not a thousand
            self.post_message(self.TurnEvent(turn_id, event))

    async def _ask(self, screen: ModalScreen[Any]) -> Any:
        """Ask the user from the worker: the handler shows ``screen``; this waits for its answer."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.post_message(self.AskUser(screen, answer))
        return await answer

    @on(AskUser)
    def _show_question(self, message: AskUser) -> None:
        if message.answer.done():  # Esc came first
            return
        self._asking = message

        def answered(result: Any) -> None:
            self._asking = None
            if result is None and self.busy:  # Esc in the dialog: stop the turn, as Esc does anywhere
                message.answer.cancel()
                self.call_later(self.stop)
            elif not message.answer.done():
                message.answer.set_result(result)

        self.app.push_screen(message.screen, answered)

    @on(CopyLink.CopyRequested)
    async def _copy_message(self, event: CopyLink.CopyRequested) -> None:
        await self.copy_text(event.text, event.what)

    @on(ReplyView.CopyRequested)
    async def _copy_code(self, event: ReplyView.CopyRequested) -> None:
        await self.copy_text(event.code, "the code block")

    @on(ToolLine.UndoRequested)
    async def _undo(self, event: ToolLine.UndoRequested) -> None:
        change = self.runner.changes.get(event.line.call.id)
        outcome = await self.runner.undo(event.line.call.id)
        event.line.undone(outcome.summary, reverted=not outcome.is_error)
        if change is not None and not outcome.is_error:  # the model must not assume its change is there
            self.session.notes.append(f"The user undid your {event.line.call.name} of {change.path}; "
                                      "it is back as it was before that change.")
        await self.note(("Undone: " if not outcome.is_error else "Could not undo: ") + outcome.content,
                        "error" if outcome.is_error else "info")

    @on(TurnEvent)
    async def _turn_event(self, message: TurnEvent) -> None:
        turn = self.turn
        if turn is None or turn.id != message.turn_id:
            return  # a late event from a turn that was stopped
        event = message.event
        if turn.log.feed(event) and not isinstance(event, TurnFinished | TurnFailed):
            self.session.save(turn.log)  # a checkpoint: a crash now loses at most the last moment
        if isinstance(event, TextDelta):
            turn.view.feed(event.text)
            self.fold_soon()
            return
        await turn.view.drain()  # everything before this event is on screen first
        if self.turn is not turn:  # stopped (Esc) while the text was being drawn: the stop recorded it
            return
        if isinstance(event, Retrying):
            turn.view.retrying(event.notice)
        elif isinstance(event, ToolStarted):
            self._tool_lines[event.call.id] = ToolLine(event.call, event.round, event.max_rounds)
            turn.view.status(f"running {event.call.name}…  (Esc to stop)")
            await turn.view.add_tool(self._tool_lines[event.call.id])
        elif isinstance(event, ToolFinished):
            if event.call.id in self._tool_lines:
                self._tool_lines[event.call.id].finish(event.outcome, event.call.id in self.runner.changes)
        elif isinstance(event, TurnFinished):
            self._end_turn()
            await self._store_end(turn)
            await turn.view.finish(event.text, event.usage, event.stop_reason)
            await turn.view.show_references(await asyncio.to_thread(find_references, event.text,
                                                                    self.session.root))
        elif isinstance(event, TurnFailed):
            self._end_turn()
            await self._store_end(turn)
            await turn.view.fail(event.failure)
            self._restore(turn)

    def _end_turn(self) -> None:
        self.turn = None
        self.app.refresh_bindings()

    async def _store_end(self, turn: Turn) -> None:
        """The turn is over: keep its context, write it to the history, refresh the token counts."""
        self.session.end_turn(turn.log)
        self.show_usage()
        await self.show_problems()

    def _restore(self, turn: Turn) -> None:
        """Put the question (and its file chips) back in the prompt so nothing is lost; if the
        user has typed something new meanwhile, keep that and offer /retry instead."""
        self.unsent = turn.log.record
        self.app.refresh_bindings()  # Ctrl+R appears in the footer
        if self.prompt.input.value:
            self.call_later(self.note, "Your question was kept: Ctrl+R or /retry sends it again.")
        self._restore_text(turn.plan.typed, turn.chips)

    async def stop(self, restore: bool = True) -> bool:
        """Esc: stop the streaming reply at once, keeping what arrived. False when idle."""
        turn = self.turn
        if turn is None:
            if self.override is not None:
                self.override = None
                self.update_activation()
                return True
            return False
        self._end_turn()
        self.workers.cancel_group(self, "chat")
        if (asking := self._asking) is not None:  # a pending approval counts as denied
            self._asking = None
            asking.answer.cancel()
            if asking.screen.is_current:
                asking.screen.dismiss(None)
        await turn.view.interrupt()
        for line in self._tool_lines.values():
            line.stopped()
        turn.log.stop()
        await self._store_end(turn)
        if not turn.log.record.recorded and restore:  # nothing came back: the question goes back
            self._restore(turn)
        return True

    async def clear(self, deleted: bool = False) -> None:
        """Start a new conversation: stop any reply, forget the turns, empty the transcript."""
        await self.stop(restore=False)
        self.unsent = None
        self._waiting = None  # a question waiting for the client belonged to the old conversation
        self.runner.reset()
        kept = self.session.store is not None and self.session.turns and not deleted
        self.session.new_conversation()
        self.show_usage()
        self.app.refresh_bindings()
        await self.transcript.remove_children()
        await self.note("New conversation. The persona has forgotten everything said so far"
                        + (" (the last one stays in /resume)." if kept else "."))
