"""The keyboard rules every dialog that decides something follows.

A dialog can appear while the user is typing into the prompt, so:

- for its first moments (``guard``) nothing in it is focused, clicks on its buttons do nothing and
  every key but Esc is dropped;
- no printable key ever picks an answer: letters, digits and space either go into a text field
  the dialog shows, or are dropped, so a sentence typed at the wrong moment decides nothing and
  nothing leaks into the prompt behind the dialog;
- an answer is picked with Enter on a focused button (the safe answer is focused first; ← → Tab
  move), by a click, or by a non-printable shortcut the dialog names on the button;
- Esc is the dialog's cancel, even during the guard: cancelling is always safe.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import events
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button

R = TypeVar("R")

#: The line under a dialog's buttons that says how to answer it.
HOW_TO_ANSWER = "← → choose · Enter confirms · Esc cancels"


class DecisionScreen(ModalScreen[R]):
    """A modal that takes keys only after ``guard`` seconds and never answers to a printable key.

    Subclasses say what to focus once keys are taken (:meth:`first_focus`) and what Esc means
    (:meth:`action_cancel`)."""

    AUTO_FOCUS = ""  # nothing is focused until the guard is over: see on_mount
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "neighbour(-1)", "Previous answer", show=False, id="dialog.previous"),
        Binding("right", "neighbour(1)", "Next answer", show=False, id="dialog.next"),
    ]

    def __init__(self, guard: float = 0.0) -> None:
        super().__init__()
        self.guard = guard  # seconds during which every key and click is dropped
        self.taking_keys = False  # the guard is over

    def on_mount(self) -> None:
        if self.guard > 0:
            self.set_timer(self.guard, self.end_guard)
        else:
            self.end_guard()

    def first_focus(self) -> Widget | None:
        """The widget focused once keys are taken (the safe answer, or a text field)."""
        return None

    def end_guard(self) -> None:
        """Take keys from now on, starting from :meth:`first_focus`, whatever a click during the
        guard may have focused (a click meant for the chat can land on a button)."""
        self.taking_keys = True
        if self.is_attached:
            target = self.first_focus()
            if target is not None:
                self.set_focus(target)

    def on_key(self, event: events.Key) -> None:
        """Keys that reach the screen itself: Esc cancels at once (cancelling is always safe, and
        Esc in the prompt meant stop too); other keys are dropped while guarding, printable ones always."""
        if event.key == "escape":
            event.stop()
            self.action_cancel()
        elif not self.taking_keys or event.is_printable:
            event.stop()
            event.prevent_default()

    def action_cancel(self) -> None:
        """Esc: subclasses say what cancelling means."""
        self.dismiss(None)

    def action_neighbour(self, step: int) -> None:
        """← →: focus the previous or next button (a text field keeps these keys for its cursor)."""
        buttons = [b for b in self.query(Button) if b.display and not b.disabled]
        if not buttons:
            return
        focused = self.focused
        current = next((i for i, b in enumerate(buttons) if b is focused), -1 if step > 0 else 0)
        # At once, not with focus(), which waits a turn: keys typed fast ("→ → Enter") must each
        # start from where the one before left the focus.
        self.set_focus(buttons[(current + step) % len(buttons)])
