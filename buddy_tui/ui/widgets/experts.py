"""Who answers the next question: the line above the prompt that names the expert and why, F2
to pick another, F3 to pin one. Methods of :class:`ChatPane` (bound in its class body), kept
apart so each module stays readable in one sitting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from buddy_tui.personas.activation import Choice

if TYPE_CHECKING:
    from buddy_tui.ui.widgets.chat_pane import ChatPane


def suggestion(pane: ChatPane) -> Choice:
    """Who would answer what is in the prompt now."""
    return pane.session.suggest(pane.prompt.input.value, [a.path for a in pane.prompt.attachments])


def update_activation(pane: ChatPane) -> None:
    """Refresh the line above the prompt that says who will answer, and why."""
    text = pane.prompt.input.value.strip()
    if not text or text.startswith("/"):
        pane.prompt.show_activation("")
        return
    if pane.override is not None:
        pane.prompt.show_activation(f"→ {pane.override.title} (your pick: F2 for the next, Esc to undo)")
        return
    choice = pane.suggestion()
    if choice.reason == "pinned":
        line = f"→ {choice.persona.title} 📌 pinned (F3 to unpin)"
    elif choice.match is None:
        line = f"→ {choice.persona.title} (no signal in the question; F2 to pick another)"
    else:
        verb = "takes over" if choice.switched else "answers"
        line = f"→ {choice.persona.title} {verb} · {choice.match.explain()} · F2 other · F3 pin"
    pane.prompt.show_activation(line)


def cycle_persona(pane: ChatPane) -> None:
    """F2: offer the next expert in the ranking for this message."""
    choice = pane.suggestion()
    ranking = [m.persona for m in choice.ranking]
    if not ranking:
        return
    shown = pane.override or choice.persona
    index = next((i for i, p in enumerate(ranking) if p.name == shown.name), -1)
    pane.override = ranking[(index + 1) % len(ranking)]
    pane.update_activation()


def toggle_pin(pane: ChatPane) -> None:
    """F3: pin the persona that would answer now (or unpin)."""
    target = pane.override or pane.suggestion().persona
    pinned = pane.session.toggle_pin(target)
    pane.override = None
    pane.refresh_header()
    pane.update_activation()
    pane.app.notify(f"{pane.session.current.title} is pinned for this conversation." if pinned
                    else "Unpinned: the best expert is chosen for each question again.")
