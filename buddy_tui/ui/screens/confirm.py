"""A yes/no question that names exactly what the user is agreeing to."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from buddy_tui.ui.safe import literal


class ConfirmScreen(ModalScreen[bool | None]):
    """Ask before doing something the user should decide on, such as sending a secrets file.

    Dismissed with True (yes), False (no) or None (Esc: cancel the whole thing).
    """

    AUTO_FOCUS = "#no"  # the safe answer is the default
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, title: str, detail: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.title_text = title
        self.detail = detail
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(literal(self.title_text), id="dialog-title")
            yield Static(literal(self.detail), id="dialog-detail")
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button(f"{self.no} (n)", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """Close the dialog with the given answer."""
        self.dismiss(answer)

    def action_cancel(self) -> None:
        """Esc: neither yes nor no; the caller abandons what it was about to do."""
        self.dismiss(None)
