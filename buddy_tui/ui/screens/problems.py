"""The problems view: every file buddy-tui reads on its own (persona, agent, skill and command
files, project memory, manifests, .gitignore files) that could not be read or was not used whole,
every one that was read only leniently (and where), what was redacted, and what overrides what."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from buddy_tui.context.attachments import printable
from buddy_tui.personas.catalog import Catalog, Problem


class ProblemsScreen(ModalScreen[None]):
    """A table of (kind, file, line, outcome, why), closed with Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "dismiss", "Close", id="problems.close")]

    def __init__(self, catalog: Catalog, root: Path | None = None,
                 capped: Sequence[tuple[Path, str]] = ()) -> None:
        super().__init__()
        self.catalog = catalog
        self.root = root  # files inside it are shown relative to it, leaving room for the reasons
        self.capped = list(capped)  # .gitignore files read only in part: (file, why)

    def compose(self) -> ComposeResult:
        with Vertical(id="problems"):
            yield Static(self._title(), id="problems-title", markup=False)
            table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True)
            table.add_columns("kind", "file", "line", "outcome", "why")
            rows = [(p, "not loaded") for p in self.catalog.problems]
            rows += [(Problem(path, None, why, "gitignore"), "read in part") for path, why in self.capped]
            rows += [(p, "sent redacted") for p in self.catalog.redacted]
            rows += [(p, "loaded as read") for p in self.catalog.lenient]
            for problem, outcome in rows:  # Text cells: file names are never read as markup
                table.add_row(Text(problem.kind), Text(printable(self._shown(problem.path))),
                              Text(str(problem.line) if problem.line else ""), Text(outcome),
                              Text(printable(problem.why)))
            yield table
            overrides = "\n".join(printable(o) for o in self.catalog.overrides)
            yield Static(overrides or "No file overrides another.", id="problems-overrides", markup=False)
            yield Static("Esc to close", markup=False)

    def _shown(self, path: Path) -> str:
        if self.root is not None and path.is_relative_to(self.root):
            return path.relative_to(self.root).as_posix()
        return str(path)

    def _title(self) -> str:
        failed = len(self.catalog.problems)
        lenient = len({p.path for p in self.catalog.lenient})
        redacted, capped = len(self.catalog.redacted), len(self.capped)
        if not failed and not lenient and not redacted and not capped:
            return "Every persona and command file was read as strict YAML."
        parts = [f"{failed} file(s) could not be read"] if failed else []
        if capped:
            parts.append(f"{capped} .gitignore file(s) were read only in part")
        if redacted:
            parts.append(f"{redacted} project memory file(s) were sent with secrets redacted")
        if lenient:
            parts.append(f"{lenient} file(s) are not strict YAML and were read leniently (shown as read)")
        return "; ".join(parts) + "; everything else loaded."
