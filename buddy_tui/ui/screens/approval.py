"""Approve a change Claude proposes: the diff, then allow once, allow the tool for the rest of the
conversation, or deny (with an optional reason that goes back to the model)."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.syntax import Syntax
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from buddy_tui.context.attachments import printable
from buddy_tui.tools.asking import Approval, ChangeRequest
from buddy_tui.ui.safe import literal


class ApprovalScreen(ModalScreen[Approval | None]):
    """Dismissed with the user's :class:`Approval`; Esc dismisses with None, which stops the
    whole turn (the pending change counts as denied and no further tool runs)."""

    AUTO_FOCUS = "#deny"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stop", "Stop", id="approval.stop")]

    def __init__(self, change: ChangeRequest, guard: float = 0.5) -> None:
        super().__init__()
        self.guard = guard  # seconds during which y/a/n are ignored: the dialog may appear mid-typing
        self._shown_at = 0.0
        self.tool = change.tool
        self.path = change.path
        self.diff = change.diff
        self.sensitive = change.sensitive
        self.creating = change.creating

    def compose(self) -> ComposeResult:
        verb = "create" if self.creating else "change"
        warning = "\n⚠ This file looks like it holds secrets." if self.sensitive else ""
        with Vertical(id="approval"):
            yield Static(literal(f"Claude wants to {verb} {self.path} ({self.tool}){warning}"), id="dialog-title")
            with VerticalScroll(id="approval-diff"):
                yield Static(Syntax(printable(self.diff) or "(no difference)", "diff", theme="ansi_dark",
                                    word_wrap=False))
            yield Input(placeholder="Reason, if you deny (sent to Claude)", id="approval-reason")
            with Horizontal(id="dialog-buttons"):
                yield Button("Allow once (y)", id="once", variant="success")
                if not self.sensitive:  # a secrets file is always asked about, file by file
                    yield Button(literal(f"Allow {self.tool} for this conversation (a)"), id="always",
                                 variant="warning")
                yield Button("Deny (n)", id="deny", variant="error")

    def on_mount(self) -> None:
        self._shown_at = time.monotonic()

    def on_key(self, event: events.Key) -> None:
        if isinstance(self.focused, Input):
            return  # typing a reason
        if time.monotonic() - self._shown_at < self.guard:
            event.stop()
            return
        answers = {"y": "once", "a": "always", "n": "deny"}
        if event.key in answers and (event.key != "a" or not self.sensitive):
            event.stop()
            self._decide(answers[event.key])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._decide(event.button.id or "deny")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._decide("deny")

    def action_stop(self) -> None:
        """Esc: stop everything."""
        self.dismiss(None)

    def _decide(self, decision: str) -> None:
        reason = self.query_one("#approval-reason", Input).value.strip() if decision == "deny" else ""
        self.dismiss(Approval(decision if decision in ("once", "always") else "deny", reason))  # type: ignore[arg-type]
