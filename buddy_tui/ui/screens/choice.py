"""A question with a few named answers: the one dialog every decision uses (attach a secrets
file, what to cut when over budget, what to do about secret values, replace a file...).

It follows the rules in :mod:`buddy_tui.ui.screens.decision`: no letter picks an answer, the safe
answer is focused first, Enter confirms the focused one, Esc cancels."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Button, Static

from buddy_tui.ui.safe import literal
from buddy_tui.ui.screens.decision import HOW_TO_ANSWER, DecisionScreen


@dataclass(frozen=True)
class Answer:
    """One button: the value it returns and its label."""

    value: str
    label: str
    variant: str = "default"  # Textual button variants: default, primary, warning...


class ChoiceScreen(DecisionScreen[str | None]):
    """Dismissed with the chosen answer's value; Esc dismisses with None (cancel)."""

    def __init__(self, title: str, detail: str, answers: list[Answer], focus: str | None = None,
                 guard: float = 0.0) -> None:
        super().__init__(guard)
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
                    yield Button(literal(answer.label), id=answer.value,
                                 variant=answer.variant)  # type: ignore[arg-type]
            yield Static(HOW_TO_ANSWER, classes="dialog-hint", markup=False)

    def first_focus(self) -> Widget | None:
        for button in self.query(Button):  # query, not query_one: a fast Esc may have closed us already
            if button.id == self.default:
                return button
        return None

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.taking_keys:  # a click during the guard was meant for what was there before
            self.dismiss(event.button.id)
