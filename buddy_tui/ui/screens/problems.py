"""The problems view: every persona or command file that could not be read, and what overrides what."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from buddy_tui.context.attachments import printable
from buddy_tui.personas.catalog import Catalog


class ProblemsScreen(ModalScreen[None]):
    """A table of (file, line, why), closed with Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="problems.close")]

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog

    def compose(self) -> ComposeResult:
        with Vertical(id="problems"):
            count = len(self.catalog.problems)
            title = (f"{count} file(s) could not be read; everything else loaded." if count
                     else "Every persona and command file was read.")
            yield Static(title, id="problems-title", markup=False)
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_columns("kind", "file", "line", "why")
            for problem in self.catalog.problems:  # Text cells: file names are never read as markup
                table.add_row(Text(problem.kind), Text(printable(str(problem.path))),
                              Text(str(problem.line) if problem.line else ""), Text(printable(problem.why)))
            yield table
            overrides = "\n".join(printable(o) for o in self.catalog.overrides)
            yield Static(overrides or "No file overrides another.", id="problems-overrides", markup=False)
            yield Static("Esc to close", markup=False)
