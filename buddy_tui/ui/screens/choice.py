"""A question with a few named answers, each on a key: the one dialog every decision uses
(attach a secrets file, what to cut when over budget, what to do about secret values)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from buddy_tui.ui.safe import literal


@dataclass(frozen=True)
class Answer:
    """One button: the value it returns, its label, and its key."""

    value: str
    label: str
    key: str
    variant: str = "default"  # Textual button variants: default, primary, warning...


class ChoiceScreen(ModalScreen[str | None]):
    """Dismissed with the chosen answer's value; Esc dismisses with None (cancel)."""

    def __init__(self, title: str, detail: str, answers: list[Answer], focus: str | None = None,
                 guard: float = 0.0) -> None:
        super().__init__()
        self.guard = guard  # seconds during which keys are ignored (the dialog may pop up mid-typing)
        self._shown_at = 0.0
        self.title_text = title
        self.detail = detail
        self.answers = answers
        self.default = focus or answers[-1].value  # the safe answer goes last, and is the default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(literal(self.title_text), id="dialog-title")
            yield Static(literal(self.detail), id="dialog-detail")
            with Horizontal(id="dialog-buttons"):
                for answer in self.answers:
                    yield Button(literal(f"{answer.label} ({answer.key})"), id=answer.value,
                                 variant=answer.variant)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self._shown_at = time.monotonic()
        for button in self.query(Button):  # query, not query_one: a fast Esc may have closed us already
            if button.id == self.default:
                button.focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def on_key(self, event: events.Key) -> None:
        if time.monotonic() - self._shown_at < self.guard and event.key != "escape":
            event.stop()  # a key meant for the prompt must not answer a dialog that just appeared
            return
        if event.key == "escape":
            event.stop()
            self.dismiss(None)
            return
        for answer in self.answers:
            if event.key == answer.key:
                event.stop()
                self.dismiss(answer.value)
                return
