"""The fuzzy file finder (Ctrl+F): type a few letters of a path, Enter opens it in the preview."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from buddy_tui.context.attachments import printable
from buddy_tui.context.index import FileFinder, IndexStats


class FinderScreen(ModalScreen[str | None]):
    """Dismissed with the chosen project-relative path, or None."""

    AUTO_FOCUS = "#finder-input"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="finder.close"),
        Binding("down", "move(1)", "Next", show=False, priority=True),
        Binding("up", "move(-1)", "Previous", show=False, priority=True),
    ]

    def __init__(self, finder: FileFinder | None, stats: IndexStats | None) -> None:
        super().__init__()
        self.finder = finder
        self.stats = stats

    def compose(self) -> ComposeResult:
        with Vertical(id="finder"):
            yield Input(placeholder="Find a file…", id="finder-input")
            yield OptionList(id="finder-results")
            yield Static(self._summary(), id="finder-summary", markup=False)

    def _summary(self) -> str:
        if self.finder is None or self.stats is None:
            return "Still indexing the project…"
        extra = " (stopped at the limit)" if self.stats.truncated else ""
        return f"{self.stats.files:,} files{extra} · Enter opens in the preview · Esc closes"

    def on_mount(self) -> None:
        self._show("")

    @on(Input.Changed, "#finder-input")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, query: str) -> None:
        results = self.query_one(OptionList)
        results.clear_options()
        if self.finder is None:
            return
        for path in self.finder.search(query, limit=40):
            results.add_option(Option(Content(printable(path)), id=path))
        if results.option_count:
            results.highlighted = 0

    def action_move(self, step: int) -> None:
        """Move through the results while typing."""
        results = self.query_one(OptionList)
        if results.option_count:
            results.highlighted = ((results.highlighted or 0) + step) % results.option_count

    @on(Input.Submitted, "#finder-input")
    def _chosen(self) -> None:
        results = self.query_one(OptionList)
        if results.highlighted is not None and results.option_count:
            self.dismiss(results.get_option_at_index(results.highlighted).id)

    @on(OptionList.OptionSelected, "#finder-results")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
