"""The chat side of the screen: persona header, transcript, prompt; and the turn being streamed.

Data flows one way. A submitted prompt becomes a request built by the core; a worker streams it
and only posts :class:`ChatPane.TurnEvent` messages; the handlers here own all state and update
the widgets. Esc cancels the worker, which closes the HTTP stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Static

from buddy_tui.core.chat import (
    ChatEvent,
    Conversation,
    TextDelta,
    TurnFailed,
    TurnFinished,
    build_request,
    stream_turn,
    user_content,
)
from buddy_tui.core.commands import CommandRegistry, parse_invocation
from buddy_tui.core.config import Connection, Settings, connect
from buddy_tui.core.context import Attachment, ContextError, find_mentions, is_sensitive, load_attachment, printable
from buddy_tui.core.files import display_path
from buddy_tui.core.personas import Persona
from buddy_tui.ui.help import help_markdown
from buddy_tui.ui.screens.confirm import ConfirmScreen
from buddy_tui.ui.widgets.prompt import PromptBar
from buddy_tui.ui.widgets.transcript import AssistantMessage, MarkdownNote, Note, NoteKind, UserMessage

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


@dataclass
class Turn:
    """The exchange being streamed right now."""

    id: int
    typed: str  # what the user typed, restored to the prompt if the turn fails
    user: list[dict[str, Any]]
    attachments: list[Attachment]
    view: AssistantMessage
    chips: list[Attachment] = field(default_factory=list)


class ChatPane(Vertical):
    """Owns the conversation and the client; everything the chat shows goes through here."""

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

    def __init__(self, root: Path, persona: Persona, settings: Settings, registry: CommandRegistry,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.root = root
        self.persona = persona
        self.settings = settings
        self.registry = registry
        self.conversation = Conversation()
        self.client: AsyncAnthropic | None = None
        self.connection: Connection | None = None
        self.turn: Turn | None = None
        self._turn_ids = 0

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-header"):
            name = Static(f"● {printable(self.persona.title)}", id="persona-name", markup=False)
            name.tooltip = printable(self.persona.description)
            yield name
            yield Static(printable(self.settings.model), id="connection", markup=False)
        yield VerticalScroll(id="transcript")
        yield PromptBar(self.registry, id="prompt")

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

    async def on_mount(self) -> None:
        await self.add(MarkdownNote(
            f"**{self.persona.title}** is ready. {self.persona.description}\n\n"
            "Select a file in the tree to attach it, mention one as `@path`, ask a question, "
            "or type `/` for commands."))
        self.transcript.anchor()
        self._connect()

    async def on_unmount(self) -> None:
        if self.client is not None:
            await self.client.close()

    @work(thread=True, group="connect")
    def _connect(self) -> None:
        client, connection = connect(self.settings)
        self.post_message(self.Connected(client, connection))

    @on(Connected)
    async def _connected(self, event: Connected) -> None:
        self.client, self.connection = event.client, event.connection
        where = "" if not event.connection.local else f" @ {event.connection.base_url}"
        state = "" if event.connection.ready else " · no API key"
        self.query_one("#connection", Static).update(printable(f"{self.settings.model}{where}{state}"))
        if not event.connection.ready:
            await self.add(Note(event.connection.message, "warning"))

    async def add(self, widget: Static | Vertical | MarkdownNote) -> None:
        """Append a widget to the transcript (which follows the bottom while the user is there)."""
        await self.transcript.mount(widget)

    async def note(self, text: str, kind: NoteKind = "info") -> None:
        """Show a message from buddy-tui itself."""
        await self.add(Note(text, kind))

    # ----------------------------------------------------------------- attachments
    def attach(self, path: Path) -> None:
        """Attach a project file to the next question, asking first if it may hold secrets."""
        if is_sensitive(path):
            rel = display_path(path, self.root)
            self.app.push_screen(
                ConfirmScreen(f"Attach {rel}?",
                              f"{rel} looks like a file that holds secrets (keys, passwords, tokens). "
                              "Its contents would be sent to the model.", yes="Attach it", no="Don't"),
                lambda ok: self._attach_now(path) if ok else None)
        else:
            self._attach_now(path)

    def _attach_now(self, path: Path) -> None:
        try:
            attachment = load_attachment(path, self.root)
        except ContextError as exc:
            self.app.notify(str(exc), title="Not attached", severity="warning")
            return
        self.prompt.add_attachment(attachment)

    # ----------------------------------------------------------------- sending
    @on(PromptBar.Submitted)
    async def _submitted(self, event: PromptBar.Submitted) -> None:
        text = event.text
        invocation = parse_invocation(text)
        prompt = text
        if invocation is not None:
            command = self.registry.get(invocation.name)
            if command is None:
                await self.note(self.registry.unknown_message(invocation.name), "warning")
                return
            if command.kind == "app":
                self.prompt.input.value = ""
                await self.run_app_command(command.name)
                return
            prompt = command.expand(invocation.arguments)
        if self.busy:
            self.app.notify("A reply is still streaming: press Esc to stop it, or wait.", severity="warning")
            return
        if self.client is None:
            message = self.connection.message if self.connection else "Still connecting; try again."
            await self.note(message, "error")
            return
        sensitive = [p for p in find_mentions(text, self.root) if is_sensitive(p)]
        if not sensitive:
            await self._send(text, prompt, set())
            return
        names = ", ".join(display_path(p, self.root) for p in sensitive)

        def decided(ok: bool | None) -> None:
            self.call_later(self._send, text, prompt, set() if ok else set(sensitive))

        self.app.push_screen(ConfirmScreen(
            f"Send {names}?", f"{names} looks like it holds secrets (keys, passwords, tokens); its "
            "contents would be sent to the model.", yes="Send it", no="Leave it out"), decided)

    async def _send(self, typed: str, prompt: str, skip: set[Path]) -> None:
        chips = self.prompt.take_attachments()
        attachments = list(chips)
        for path in find_mentions(typed, self.root):
            if path in skip:
                continue
            try:
                attachment = load_attachment(path, self.root)
            except ContextError as exc:
                await self.note(f"Not attached: {exc}", "warning")
                continue
            if all(a.path != attachment.path for a in attachments):
                attachments.append(attachment)
        self.prompt.input.value = ""
        user = user_content(prompt, attachments)
        request = build_request(persona=self.persona, conversation=self.conversation, user=user,
                                model=self.settings.model, max_tokens=self.settings.max_tokens)
        self._turn_ids += 1
        view = AssistantMessage(self.persona.title)
        self.turn = Turn(self._turn_ids, typed, user, attachments, view, chips)
        await self.add(UserMessage(typed, attachments))
        await self.add(view)
        self.transcript.anchor()
        self.app.refresh_bindings()
        self._stream(self.turn.id, request)

    @work(exclusive=True, group="chat", exit_on_error=False)
    async def _stream(self, turn_id: int, request: dict[str, Any]) -> None:
        assert self.client is not None
        async for event in stream_turn(self.client, request):
            self.post_message(self.TurnEvent(turn_id, event))

    @on(TurnEvent)
    async def _turn_event(self, message: TurnEvent) -> None:
        turn = self.turn
        if turn is None or turn.id != message.turn_id:
            return  # a late event from a turn that was stopped
        event = message.event
        if isinstance(event, TextDelta):
            await turn.view.append(event.text)
        elif isinstance(event, TurnFinished):
            self._end_turn()
            self.conversation.record(turn.user, event.text, event.usage)
            await turn.view.finish(event.text, event.usage, event.stop_reason)
        elif isinstance(event, TurnFailed):
            self._end_turn()
            await turn.view.fail(event.failure)
            self._restore(turn)

    def _end_turn(self) -> None:
        self.turn = None
        self.app.refresh_bindings()

    def _restore(self, turn: Turn) -> None:
        """Put the question (and its file chips) back in the prompt so nothing is lost."""
        if not self.prompt.input.value:
            self.prompt.input.value = turn.typed
            self.prompt.input.cursor_position = len(turn.typed)
        for attachment in turn.chips:
            self.prompt.add_attachment(attachment)

    async def stop(self) -> bool:
        """Esc: stop the streaming reply at once, keeping what arrived. False when idle."""
        turn = self.turn
        if turn is None:
            return False
        self._end_turn()
        self.workers.cancel_group(self, "chat")
        await turn.view.interrupt()
        if turn.view.text:
            self.conversation.record(turn.user, turn.view.text)
        else:
            self._restore(turn)
        return True

    # ----------------------------------------------------------------- app commands
    async def run_app_command(self, name: str) -> None:
        """Commands handled by buddy-tui itself."""
        if name == "help":
            await self.add(MarkdownNote(help_markdown(self.registry, self.app)))
        elif name == "clear":
            await self.stop()
            self.conversation.clear()
            await self.transcript.remove_children()
            await self.note("New conversation. The persona has forgotten everything said so far.")
        elif name == "quit":
            self.app.exit()
