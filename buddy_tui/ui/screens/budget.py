"""Over budget: the request does not fit the model's context; the user decides what gives."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from buddy_tui.core.budget import Budget
from buddy_tui.core.context import Attachment
from buddy_tui.ui.safe import literal

BudgetChoice = Literal["drop", "head", "cancel"]


class BudgetScreen(ModalScreen[BudgetChoice]):
    """Drop the attached files, send only the head of the largest one, or cancel."""

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "choose('drop')", "Drop files", id="budget.drop"),
        Binding("h", "choose('head')", "Send the head", id="budget.head"),
        Binding("escape,c", "choose('cancel')", "Cancel", id="budget.cancel"),
    ]

    def __init__(self, budget: Budget, attachments: list[Attachment]) -> None:
        super().__init__()
        self.budget = budget
        self.attachments = attachments

    def compose(self) -> ComposeResult:
        largest = max(self.attachments, key=lambda a: a.tokens)
        files = "\n".join(f"  {a.key}: ~{a.tokens:,} tokens" for a in self.attachments)
        with Vertical(id="dialog"):
            yield Static(literal(f"Too big for the model by {self.budget.over_by:,} tokens"), id="dialog-title")
            yield Static(literal(f"This question would use {self.budget.describe()}.\nAttached:\n{files}"),
                         id="dialog-detail")
            with Horizontal(id="dialog-buttons"):
                yield Button("Drop the files (d)", id="drop", variant="warning")
                yield Button(literal(f"Send the head of {largest.path.rsplit('/', 1)[-1]} (h)"), id="head")
                yield Button("Cancel (Esc)", id="cancel", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        """Close with the user's decision."""
        self.dismiss(choice if choice in ("drop", "head") else "cancel")  # type: ignore[arg-type]
