"""Approve a change Claude proposes: the diff, then deny (with an optional reason that goes back
to the model), allow once, or allow the tool for the rest of the conversation.

The reason field is focused first, so whatever the user types lands there and decides nothing;
Enter denies. Allowing takes Ctrl+Y or a focused button, and allowing for the whole conversation
asks once more (see :mod:`buddy_tui.ui.screens.decision` for the rules every dialog follows)."""

from __future__ import annotations

from typing import ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from buddy_tui.context.attachments import printable
from buddy_tui.tools.asking import Approval, ChangeRequest
from buddy_tui.tools.paths import show
from buddy_tui.ui.safe import literal
from buddy_tui.ui.screens.choice import Answer, ChoiceScreen
from buddy_tui.ui.screens.decision import DecisionScreen

HINT = "Enter denies (with your reason, if typed) · Ctrl+Y allows once · Tab reaches the buttons · Esc stops the reply"


def who_asks(agent: str) -> str:
    """``Claude`` for the lead; ``Security agent`` when an agent (its title) asks."""
    name = " ".join(agent.split())
    if not name:
        return "Claude"
    return name if name.lower().endswith("agent") else f"{name} agent"


class ApprovalScreen(DecisionScreen[Approval | None]):
    """Dismissed with the user's :class:`Approval`; Esc dismisses with None, which stops the
    whole turn (the pending change counts as denied and no further tool runs)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+y", "decide('once')", "Allow once", id="approval.once"),
    ]

    def __init__(self, change: ChangeRequest, guard: float = 0.5) -> None:
        super().__init__(guard)
        self.tool = change.tool
        self.path = change.path
        self.diff = change.diff
        self.sensitive = change.sensitive
        self.protected = change.protected
        self.creating = change.creating
        self.agent = change.agent

    def compose(self) -> ComposeResult:
        verb = "create" if self.creating else "change"
        if self.protected:  # agent, editor or git configuration: it steers tools and what git shows
            warning = f"\n⚠ This is {self.protected}: it is asked about every time."
        else:
            warning = "\n⚠ This file looks like it holds secrets." if self.sensitive else ""
        title = f"{who_asks(self.agent)} wants to {verb} {show(self.path, 200)} ({self.tool}){warning}"
        with Vertical(id="approval"):
            yield Static(literal(title), id="dialog-title")
            with VerticalScroll(id="approval-diff"):
                yield Static(Syntax(printable(self.diff) or "(no difference)", "diff", theme="ansi_dark",
                                    word_wrap=False))
            yield Input(placeholder="Why not? A reason to deny, sent to Claude (optional)", id="approval-reason")
            with Horizontal(id="dialog-buttons"):
                yield Button("Deny", id="deny", variant="error")
                yield Button("Allow once (Ctrl+Y)", id="once", variant="success")
                if not self.sensitive:  # a secrets file is always asked about, file by file
                    yield Button(literal(f"Allow {self.tool} for this conversation…"), id="always",
                                 variant="warning")
            yield Static(HINT, classes="dialog-hint", markup=False)

    def first_focus(self) -> Widget | None:
        fields = self.query("#approval-reason")
        return fields.first() if fields else None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_decide(event.button.id or "deny")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_decide("deny")

    def action_cancel(self) -> None:
        """Esc: stop everything."""
        self.dismiss(None)

    def action_decide(self, decision: str) -> None:
        """Answer: "deny" (with the typed reason), "once", or "always" (after a second question)."""
        if not self.taking_keys:
            return
        if decision == "always":
            if not self.sensitive:
                self._confirm_always()
            return
        reason = self.query_one("#approval-reason", Input).value.strip() if decision == "deny" else ""
        self.dismiss(Approval("once" if decision == "once" else "deny", reason))

    def _confirm_always(self) -> None:
        """Allowing a tool for the rest of the conversation is a second, deliberate step."""
        question = ChoiceScreen(
            f"Allow {self.tool} for the rest of this conversation?",
            f"Claude's next {self.tool} calls in this conversation will change files without asking you. "
            "Each change can still be undone (/undo). Files that look like they hold secrets are still "
            "asked about one by one.",
            [Answer("always", f"Allow {self.tool} without asking", "warning"), Answer("back", "Back", "primary")])

        def answered(answer: str | None) -> None:
            if answer == "always":
                self.dismiss(Approval("always", ""))
            else:
                for button in self.query("#always"):
                    button.focus()

        self.app.push_screen(question, answered)
