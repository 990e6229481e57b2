"""Connecting lazily, and folding the transcript: methods of :class:`ChatPane` (bound in its
class body), kept apart so each module stays readable in one sitting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from buddy_tui.conversation.client import is_local
from buddy_tui.ui.widgets import turn_stubs
from buddy_tui.ui.widgets.folding import refold
from buddy_tui.ui.widgets.transcript import AssistantMessage

if TYPE_CHECKING:
    from buddy_tui.ui.widgets.chat_pane import ChatPane


def connect_now(pane: ChatPane) -> None:
    """Build the client, loading the SDK (most of a second, ~70 MB), unless under way already.
    It is deferred until the user starts typing a question: browsing files never pays for it."""
    if not pane._connecting:
        pane._connecting = True
        pane._connect()


def fold_soon(pane: ChatPane) -> None:
    """Fold what has scrolled far away (and unfold what came near) in a moment."""
    if pane._fold_timer is None:
        pane._fold_timer = pane.set_timer(0.2, pane._fold_now)


async def fold_now(pane: ChatPane) -> None:
    """Build stubbed turns near the view, then fold and unfold reply pieces by distance. Turns
    built move everything below them: another pass then sees where things really are."""
    pane._fold_timer = None
    built = await turn_stubs.expand_near(pane.transcript)
    messages = [child.folder for child in pane.transcript.children if isinstance(child, AssistantMessage)]
    await refold(messages, pane.transcript.region)
    if built:
        fold_soon(pane)



def where(pane: ChatPane, base_url: str) -> str:
    """``model`` for Anthropic's API, ``model @ URL`` for anything else."""
    model = pane.session.settings.model
    return f"{model} @ {base_url}" if is_local(base_url) else model


async def when_connected(pane: ChatPane, then: Callable[[], Awaitable[None]]) -> bool:
    """False when the client is ready (go ahead); else arrange ``then`` for when it is, or
    say why there is none."""
    if pane.client is not None:
        return False
    if pane.connection is None:
        pane._waiting = then
        pane.connect_now()
        pane.prompt.show_activation("connecting… the question goes out as soon as the client is ready")
    else:
        await pane.note(pane.connection.message, "error")
    return True
