"""The chat side of the screen: the header, the transcript and the prompt; a view of the engine.

Data flows one way. What the user types goes to the conversation engine
(:mod:`buddy_tui.conversation.engine`), which owns the turn; a worker iterates the engine's events
and only posts them (:class:`ChatPane.TurnEvent`); the handlers here draw them. The engine's
questions arrive as :class:`~buddy_tui.ui.asker.AskUser` and are answered with dialogs. Esc stops
the engine's turn and cancels the worker, which closes the HTTP stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import MountError, Widget
from textual.widgets import Input

from buddy_tui.context.attachments import Attachment, printable
from buddy_tui.conversation.chat import Retrying, TextDelta, ToolFinished, ToolStarted, TurnFailed, TurnFinished
from buddy_tui.conversation.client import Connection, connect, precheck
from buddy_tui.conversation.engine import Abandoned, Engine, EngineEvent, Notice, Question, TurnContinued, TurnStarted
from buddy_tui.conversation.events import AgentEnded, AgentStarted, AgentStatus, AgentUpdate
from buddy_tui.conversation.session import AppAction, Refusal, Session
from buddy_tui.personas.activation import Choice, activation_line, next_pick
from buddy_tui.personas.persona import Persona
from buddy_tui.store.history import HistoryError
from buddy_tui.ui.asker import AskUser, DialogAsker
from buddy_tui.ui.copying import copy_text
from buddy_tui.ui.widgets.chat_header import ChatHeader
from buddy_tui.ui.widgets.prompt import PromptBar
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import AssistantMessage, CopyLink, Note, NoteKind, UserMessage, greeting
from buddy_tui.ui.widgets.turn_stubs import Transcript

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.store.records import TurnRecord
    from buddy_tui.tools.runner import ToolRunner


@dataclass
class Turn:
    """The exchange on screen while the engine streams it."""

    question: Question
    view: AssistantMessage


class ChatPane(Vertical):
    """Shows the session's conversation and hands new questions to the engine."""

    @dataclass
    class TurnEvent(Message):
        """An event from the engine, tagged with the run it belongs to."""

        turn_id: int
        event: EngineEvent

    @dataclass
    class Connected(Message):
        """The client has been built (or could not be)."""

        client: AsyncAnthropic | None
        connection: Connection

    @dataclass
    class AppCommand(Message):
        """The user ran an app command (``/help``, ``/persona x``...) for the app to carry out."""

        name: str
        arguments: str

    def __init__(self, session: Session, *, resume_latest: bool = False, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session
        self.resume_latest = resume_latest  # --continue
        self.engine = Engine(session, DialogAsker(self.post_message), batch=True)
        self.connection: Connection | None = None
        self.turn: Turn | None = None
        self.override: Persona | None = None  # picked with F2: pinned for the conversation once sent
        self._asking: AskUser | None = None
        self._runs = 0  # each engine run gets an id: events of a stopped one are dropped
        self._waiting: Callable[[], Awaitable[None]] | None = None  # what to do once the client is ready
        self._connecting = False
        self._agents_open = False  # the run under way keeps its agents' panels open when done (/consult)

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield ChatHeader(self.session)
        with Transcript(id="transcript"):
            yield from greeting(self.session)
        yield PromptBar(self.session.catalog.commands, id="prompt")

    @property
    def transcript(self) -> Transcript:
        """The scrolling list of messages."""
        return self.query_one("#transcript", Transcript)

    @property
    def prompt(self) -> PromptBar:
        """The prompt bar."""
        return self.query_one(PromptBar)

    @property
    def header(self) -> ChatHeader:
        """Persona, model and token counts."""
        return self.query_one(ChatHeader)

    @property
    def busy(self) -> bool:
        """True while a reply is streaming."""
        return self.turn is not None

    @property
    def client(self) -> AsyncAnthropic | None:
        """The engine's client, once built."""
        return self.engine.client

    @property
    def runner(self) -> ToolRunner:
        """The engine's tool runner (its permissions and changes)."""
        return self.engine.runner

    @property
    def unsent(self) -> TurnRecord | None:
        """The last question that got no full answer, for /retry."""
        return self.engine.unsent

    async def on_mount(self) -> None:
        self.refresh_header()
        self.transcript.anchor()
        self.watch(self.transcript, "scroll_y", self.fold_soon, init=False)
        await self._startup()
        if (early := precheck()) is not None:  # no credentials anywhere: say so now, SDK not needed
            self._connecting = True
            self.post_message(self.Connected(None, early))

    async def on_unmount(self) -> None:
        self.turn = None  # quitting mid-reply is a stop, not a crash: the engine saves it so
        await self.engine.close()

    async def add(self, widget: Widget) -> None:
        """Append a widget to the transcript (which follows the bottom while the user is there)."""
        with contextlib.suppress(MountError):  # the app is closing (Ctrl+Q during start-up)
            await self.transcript.mount(widget)

    async def note(self, text: str, kind: NoteKind = "info") -> None:
        """Show a message from buddy-tui itself."""
        await self.add(Note(text, kind))

    async def show_problems(self) -> None:
        """Tell the user, once, about anything that went wrong with the history or the settings."""
        while self.session.problems:
            await self.note(self.session.problems.pop(0), "warning")

    def refresh_header(self) -> None:
        """The current persona (pinned or not), the model and where requests go."""
        self.header.show_persona(self.session.current, self.session.pinned)
        self.show_connection()

    def show_connection(self) -> None:
        """The model and where requests go (again after /model picks another model)."""
        self.header.show_connection(self.session.settings.model, self.connection)

    def show_usage(self) -> None:
        """The token line under the header: the last turn's and the conversation's."""
        turns = self.session.turns
        self.header.show_usage(turns[-1].usage if turns else None, self.session.conversation.usage)
        self.transcript.offer_continue(self.engine.continuable is not None)  # after a turn, or on opening one

    # ----------------------------------------------------------------- connecting
    def connect_now(self) -> None:
        """Build the client, loading the SDK (most of a second, ~70 MB), unless under way already.
        It is deferred until the user starts typing a question: browsing files never pays for it."""
        if not self._connecting:
            self._connecting = True
            self._connect()

    @work(thread=True, group="connect")
    def _connect(self) -> None:
        client, connection = connect(self.session.settings)
        self.post_message(self.Connected(client, connection))

    @on(Connected)
    async def _connected(self, event: Connected) -> None:
        self.engine.client, self.connection = event.client, event.connection
        self.show_connection()
        if not event.connection.ready:
            await self.add(Note(event.connection.message, "warning"))
        if (waiting := self._waiting) is not None:
            self._waiting = None
            self.update_activation()
            await waiting()

    async def when_connected(self, then: Callable[[], Awaitable[None]]) -> bool:
        """False when the client is ready (go ahead); else arrange ``then`` for when it is, or
        say why there is none."""
        if self.client is not None:
            return False
        if self.connection is None:
            self._waiting = then
            self.connect_now()
            self.prompt.show_activation("Connecting… The question goes out as soon as the client is ready.")
        else:
            await self.note(self.connection.message, "error")
        return True

    def fold_soon(self) -> None:
        """Fold what has scrolled far away (and unfold what came near) in a moment."""
        self.transcript.fold_soon()

    # ----------------------------------------------------------------- who answers
    def _suggestion(self) -> Choice:
        return self.session.suggest(self.prompt.input.value, [a.path for a in self.prompt.attachments])

    def update_activation(self) -> None:
        """Refresh the line above the prompt that says who will answer, and why."""
        typed = self.prompt.input.value
        wanted = self.override is None and typed.strip() and not typed.strip().startswith("/")
        self.prompt.show_activation(activation_line(typed, self._suggestion() if wanted else None, self.override))

    def cycle_persona(self) -> None:
        """F2: offer the next expert in the ranking; once the question is sent it stays (pinned)."""
        if (pick := next_pick(self._suggestion(), self.override)) is not None:
            self.override = pick
            self.update_activation()

    def toggle_pin(self) -> None:
        """F3: pin the persona that would answer now (or unpin)."""
        pinned = self.session.toggle_pin(self.override or self._suggestion().persona)
        self.override = None
        self.refresh_header()
        self.update_activation()
        self.app.notify(printable(f"{self.session.current.title} is pinned for this conversation.") if pinned
                        else "Unpinned: the best expert is chosen for each question again.", markup=False)

    @on(Input.Changed, "#prompt-input")
    def _typed(self, event: Input.Changed) -> None:
        if event.value.strip():  # a question is coming: load the SDK meanwhile
            self.connect_now()
        self.update_activation()

    def attach(self, path: Path, lines: tuple[int, int] | None = None) -> None:
        """Attach a project file (or some of its lines) to the next question."""
        self.prompt.attach(path, self.session.root, lines)

    @on(PromptBar.Attached)
    def _attached(self) -> None:
        self.update_activation()  # a file can change who answers

    # ----------------------------------------------------------------- sending
    @on(PromptBar.Submitted)
    async def _submitted(self, event: PromptBar.Submitted) -> None:
        attached = [a.path for a in self.prompt.attachments]
        plan = await asyncio.to_thread(self.engine.interpret, event.text, attached, self.override)
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
        self._run(Question(plan, tuple(self.prompt.take_attachments())))

    async def retry(self) -> None:
        """``/retry`` or Ctrl+R: send the last question that got no full answer again, with the same
        files as then."""
        if self.busy:
            self.app.notify("A reply is still streaming: press Esc to stop it first.", severity="warning")
            return
        if self.unsent is not None and await self.when_connected(self.retry):
            return
        record = self.unsent
        question = await asyncio.to_thread(self.engine.retry, self.override)
        if isinstance(question, str):
            await self.note(question, "warning" if record is not None else "info")
            return
        if record is not None and self.prompt.input.value == record.typed:  # it was put back: it goes now
            self.prompt.input.value = ""
            self.prompt.take_attachments()
        self._run(question)

    def _run(self, question: Question, agents_open: bool = False) -> None:
        """Hand ``question`` to the engine in a worker; its events come back as messages."""
        self._runs += 1
        self._agents_open = agents_open
        self._engine_worker(self._runs, question)

    @work(exclusive=True, group="chat", exit_on_error=False)
    async def _engine_worker(self, run_id: int, question: Question) -> None:
        def post(event: EngineEvent) -> None:
            self.post_message(self.TurnEvent(run_id, event))

        async with contextlib.aclosing(self.engine.run(question, on_retry=post)) as events:
            async for event in events:
                post(event)

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

    # ----------------------------------------------------------------- drawing the engine's events
    @on(TurnEvent)
    async def _turn_event(self, message: TurnEvent) -> None:
        if message.turn_id != self._runs:
            return  # a late event from a run that was stopped or replaced
        event = message.event
        if isinstance(event, Notice):
            await self.note(event.text, event.kind)
            return
        if isinstance(event, Abandoned):
            if event.reason:
                await self.note(event.reason, event.kind)
            self._restore_text(event.question.plan.typed, list(event.question.chips))
            return
        if isinstance(event, TurnStarted | TurnContinued):
            await self._started(event)
            return
        turn = self.turn
        if turn is None:
            return  # stopped (Esc): the stop recorded what had arrived
        if isinstance(event, TextDelta | AgentStarted | AgentUpdate | AgentStatus | AgentEnded):
            if isinstance(event, TextDelta):
                turn.view.feed(event.text)
            else:  # in the agent's panel, its text drawn as the lead's is
                await turn.view.agent_event(event, self.runner.changes)
            self.fold_soon()
            return
        await turn.view.drain()  # everything before this event is on screen first
        if self.turn is not turn:  # stopped (Esc) while the text was being drawn
            return
        if isinstance(event, Retrying | ToolStarted | ToolFinished):
            await turn.view.show(event, self.runner.changes)
        elif isinstance(event, TurnFinished | TurnFailed):
            self._end_turn()
            await self._ended()
            stored = self.session.turns[-1].usage if self.session.turns and turn.view.panels else None  # agents'
            await turn.view.end(event, self.session.root, cut=self.engine.continuable is not None, usage=stored)
            if self.unsent is self.session.turns[-1]:  # failed or declined: the question goes back
                self._restore(turn.question)

    async def _started(self, event: TurnStarted | TurnContinued) -> None:
        """The engine stored the question and is sending it: show it, and where the reply goes
        (a cut reply that goes on grows in its own message)."""
        self.transcript.offer_continue(False)
        if isinstance(event, TurnContinued):
            self.turn = Turn(event.question, self.transcript.query_children(AssistantMessage).last())
            await self.turn.view.resume()
        else:
            self.prompt.input.value = ""
            self.override = None
            view = AssistantMessage(event.question.plan.persona.title, event.why)
            view.agents_open = self._agents_open
            self.turn = Turn(event.question, view)
            await self.add(UserMessage(event.question.plan.typed, event.record.files))
            await self.show_problems()
            await self.add(view)
        self.refresh_header()
        self.transcript.anchor()
        self.app.refresh_bindings()

    def _end_turn(self) -> None:
        self.turn = None
        self.app.refresh_bindings()

    async def _ended(self) -> None:
        """The turn is over and stored: refresh the token counts, say what went wrong with the history."""
        self.show_usage()
        await self.show_problems()

    def _restore_text(self, typed: str, chips: list[Attachment]) -> None:
        """Put an unsent question and its chips back in the prompt."""
        for attachment in chips:
            self.prompt.add_attachment(attachment)
        if not self.prompt.input.value:
            self.prompt.input.value = typed
            self.prompt.input.cursor_position = len(typed)

    def _restore(self, question: Question) -> None:
        """Put the question (and its file chips) back in the prompt so nothing is lost; if the
        user has typed something new meanwhile, keep that and offer /retry instead."""
        self.app.refresh_bindings()  # Ctrl+R appears in the footer
        if self.prompt.input.value:
            self.call_later(self.note, "Your question was kept: Ctrl+R or /retry sends it again.")
        self._restore_text(question.plan.typed, list(question.chips))

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
        record = self.engine.stop()
        self.workers.cancel_group(self, "chat")
        if (asking := self._asking) is not None:  # a pending approval counts as denied
            self._asking = None
            asking.answer.cancel()
            if asking.screen.is_current:
                asking.screen.dismiss(None)
        await turn.view.interrupt(record)
        await self._ended()
        if record is not None and not record.recorded and restore:  # nothing came back: the question goes back
            self._restore(turn.question)
        return True

    @on(CopyLink.CopyRequested)
    async def _copy_message(self, event: CopyLink.CopyRequested) -> None:
        await copy_text(self.app, event.text, event.what)

    @on(ReplyView.CopyRequested)
    async def _copy_code(self, event: ReplyView.CopyRequested) -> None:
        await copy_text(self.app, event.code, "the code block")

    # ----------------------------------------------------------------- conversations
    async def clear(self, deleted: bool = False) -> None:
        """Start a new conversation: stop any reply, forget the turns, empty the transcript."""
        await self.stop(restore=False)
        self.workers.cancel_group(self, "chat")  # a question still being prepared belonged to the old one
        self._runs += 1
        self._waiting = None  # a question waiting for the client belonged to the old conversation
        kept = self.session.store is not None and self.session.turns and not deleted
        self.engine.new_conversation()
        self.show_usage()
        self.app.refresh_bindings()
        await self.transcript.remove_children()
        await self.note("New conversation. The persona has forgotten everything said so far"
                        + (" (the last one stays in /resume)." if kept else "."))

    async def _startup(self) -> None:
        """Bring back a conversation a crash interrupted; else, with ``--continue``, the latest one."""
        await self.show_problems()
        if self.session.store is None:
            if self.resume_latest:
                await self.note("--continue: history is off, so there is nothing to continue.", "warning")
            return
        try:
            found = await asyncio.to_thread(self.engine.recovery, self.resume_latest)
        except (sqlite3.Error, HistoryError) as exc:  # a broken database must not stop the app
            await self.note(f"Could not read the history ({exc}).", "warning")
            return
        if found.crashed:
            await self.open_conversation(found.crashed[0])
            await self.note(found.message, "warning")
        elif found.latest is not None:
            await self.open_conversation(found.latest)
        elif self.resume_latest:
            await self.note("--continue: there is no earlier conversation in this project yet.")

    async def open_conversation(self, conversation_id: int) -> bool:
        """Replace the chat with a stored conversation, ready to go on."""
        await self.stop(restore=False)  # first: a reply streaming into this very conversation is saved as stopped
        try:
            stored = self.engine.open(conversation_id)
        except (sqlite3.Error, HistoryError, ValueError) as exc:  # a locked database, a damaged row
            await self.note(f"Could not open that conversation: {exc}", "error")
            return False
        if stored is None:
            await self.note("That conversation is no longer in the history.", "warning")
            return False
        self._waiting = None
        await self.transcript.remove_children()
        await self.transcript.show_conversation(stored, self.session.project_key)
        self.refresh_header()
        self.show_usage()
        self.app.refresh_bindings()
        return True
