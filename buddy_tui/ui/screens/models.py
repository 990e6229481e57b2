"""The model picker (/model, or "Choose the model" in the palette): the endpoint's own list when
it answers, else the models the installed SDK knows; type to filter, Enter to choose."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from buddy_tui.context.attachments import printable
from buddy_tui.conversation.errors import describe_error
from buddy_tui.conversation.models import ModelChoice, known_models, listed_models
from buddy_tui.ui.safe import literal

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


class ModelScreen(ModalScreen[str | None]):
    """Dismissed with the chosen model id, or None (Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Cancel", id="models.cancel"),
        Binding("down", "move(1)", "Next", show=False, priority=True),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
    ]

    def __init__(self, current: str, client: AsyncAnthropic | None) -> None:
        super().__init__()
        self.current = current
        self.client = client
        self.choices: list[ModelChoice] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="models-dialog"):
            yield Static(literal(f"Model (now {self.current})"), id="models-title")
            yield Input(placeholder="type to filter, Enter to choose, Esc to cancel", id="models-filter")
            yield OptionList(id="models-list")
            yield Static("", id="models-source", markup=False)

    def on_mount(self) -> None:
        self._show(known_models(), "models this version of buddy-tui knows")
        if self.client is not None:
            self._fetch(self.client)
        else:
            self.query_one("#models-source", Static).update(
                "No client yet (no key, or not connected): showing the models this version knows.")

    @work(exclusive=True)
    async def _fetch(self, client: AsyncAnthropic) -> None:
        try:
            listed = await listed_models(client)
        except Exception as exc:  # unreachable, unauthorised...: the built-in list stays
            self.query_one("#models-source", Static).update(printable(
                f"The endpoint's list could not be read ({describe_error(exc).title}): showing the "
                "models this version knows."))
            return
        if listed:
            self._show(listed, "the endpoint's list")

    def _show(self, choices: list[ModelChoice], source: str) -> None:
        self.choices = choices
        self.query_one("#models-source", Static).update(f"{len(choices)} models: {source}.")
        self._filter(self.query_one("#models-filter", Input).value)

    @on(Input.Changed, "#models-filter")
    def _changed(self, event: Input.Changed) -> None:
        self._filter(event.value)

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        options = self.query_one("#models-list", OptionList)
        options.clear_options()
        shown = [c for c in self.choices if all(w in f"{c.id} {c.label}".lower() for w in words)]
        if text.strip() and not any(c.id == text.strip() for c in shown):
            shown.append(ModelChoice(text.strip(), "use this name as typed"))
        for choice in shown:
            mark = "● " if choice.id == self.current else "  "
            label = f"{mark}{choice.id}" + (f"  ({choice.label})" if choice.label else "")
            options.add_option(Option(literal(label), id=choice.id))
        current = next((i for i, c in enumerate(shown) if c.id == self.current), 0)
        if shown:
            options.highlighted = current

    def action_move(self, step: int) -> None:
        options = self.query_one("#models-list", OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + step) % options.option_count

    @on(Input.Submitted, "#models-filter")
    def _submitted(self) -> None:
        options = self.query_one("#models-list", OptionList)
        if options.highlighted is not None and options.option_count:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
