"""Yes or no, for something the user must decide, such as sending a secrets file."""

from __future__ import annotations

from buddy_tui.ui.screens.choice import Answer, ChoiceScreen


def confirm(title: str, detail: str, yes: str = "Yes", no: str = "No", guard: float = 0.0) -> ChoiceScreen:
    """A dialog dismissed with "yes", "no", or None (Esc: abandon the whole thing); No is focused
    first, so Enter alone never says yes. ``guard``: seconds during which keys are ignored, for a
    dialog that appears while the user types."""
    return ChoiceScreen(title, detail, [Answer("yes", yes, "warning"), Answer("no", no, "primary")], guard=guard)
