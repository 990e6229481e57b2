"""The lines above the chat: who answers (pinned or not), the model and where requests go, and
the tokens spent."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from buddy_tui.context.attachments import printable
from buddy_tui.conversation.client import Connection, endpoint, is_local
from buddy_tui.conversation.session import Session
from buddy_tui.personas.persona import Persona
from buddy_tui.store.records import Usage
from buddy_tui.ui.safe import literal


def _count(n: int) -> str:
    return f"{n:,}" if n < 1000 else f"{n / 1000:.1f}k" if n < 1_000_000 else f"{n / 1_000_000:.1f}M"


def compact(usage: Usage) -> str:
    """``in 1.2k out 380 cache 1.1k/50``: a token count that fits the header (cache read/written)."""
    text = f"in {_count(usage.input_tokens)} out {'~' if usage.estimated else ''}{_count(usage.output_tokens)}"
    if usage.cache_read_tokens or usage.cache_write_tokens:
        text += f" cache {_count(usage.cache_read_tokens)}/{_count(usage.cache_write_tokens)}"
    return text


def where(model: str, base_url: str) -> str:
    """``model`` for Anthropic's API, ``model @ URL`` for anything else."""
    return f"{model} @ {base_url or '(no address)'}" if is_local(base_url) else model


class ChatHeader(Vertical):
    """Persona and connection on one line, the token counts under it (once there are any)."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._model = session.settings.model

    def compose(self) -> ComposeResult:
        with Horizontal(id="chat-header"):
            yield Static(id="persona-name", markup=False)
            yield Static(printable(where(self._model, endpoint())), id="connection", markup=False)
        yield Static("", id="usage", markup=False)

    def show_persona(self, persona: Persona, pinned: bool) -> None:
        """The persona that answers now, with its description on hover."""
        label = self.query_one("#persona-name", Static)
        label.update(printable(f"● {persona.title}{'  📌 pinned' if pinned else ''}"))
        label.tooltip = literal(f"{persona.name} ({persona.source}): {persona.description}")

    def show_connection(self, model: str, connection: Connection | None) -> None:
        """The model and where requests go, and whether a key is missing."""
        state = "" if connection is None or connection.ready else (
            " · no API key" if connection.kind == "credentials" else " · ANTHROPIC_BASE_URL unusable")
        base = connection.base_url if connection is not None else endpoint()
        self.query_one("#connection", Static).update(printable(where(model, base) + state))

    def show_usage(self, last: Usage | None, total: Usage) -> None:
        """The last turn's tokens and the conversation's (hidden before the first turn)."""
        text = "" if last is None else f"tokens: last {compact(last)} · total {compact(total)} · /cost"
        line = self.query_one("#usage", Static)
        line.update(text)
        line.display = bool(text)
