"""The history screen (/resume): earlier conversations by project and date, searchable by text;
open, rename or delete one. Dismissed with the id of the conversation to open, or None."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from buddy_tui.context.attachments import printable
from buddy_tui.store.history import HistoryError, Store
from buddy_tui.store.records import ConversationSummary
from buddy_tui.ui.screens.confirm import confirm


def _from_home(project: str) -> str:
    """``~/src/orders`` for a project under the home folder, else the path as stored."""
    try:
        return "~/" + Path(project).relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):
        return project


def when(stamp: float, now: float | None = None) -> str:
    """``14:02`` today, ``Nov 24 14:02`` this year, ``2025-03-01`` before."""
    then, today = time.localtime(stamp), time.localtime(now if now is not None else time.time())
    if then[:3] == today[:3]:
        return time.strftime("%H:%M", then)
    if then.tm_year == today.tm_year:
        return time.strftime("%b %d %H:%M", then)
    return time.strftime("%Y-%m-%d", then)


class TitleScreen(ModalScreen[str | None]):
    """Ask for a conversation's new title; Enter saves, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel", id="title.cancel")]
    AUTO_FOCUS = "#title-input"

    def __init__(self, title: str) -> None:
        super().__init__()
        self.current = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Rename the conversation", id="dialog-title", markup=False)
            yield Input(self.current, id="title-input", max_length=200)
            yield Static("Enter saves · Esc cancels", id="dialog-detail", markup=False)

    @on(Input.Submitted, "#title-input")
    def _save(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class HistoryScreen(ModalScreen[int | None]):
    """Conversations, newest first; this project's by default, every project's with F4."""

    AUTO_FOCUS = "#history-search"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="history.close"),
        Binding("f4", "toggle_scope", "All projects", id="history.scope"),
        Binding("f2", "rename", "Rename", id="history.rename"),
        Binding("f8", "delete", "Delete", id="history.delete"),
    ]

    def __init__(self, store: Store, project: str, current: int | None = None) -> None:
        super().__init__()
        self.store = store
        self.project = project
        self.current = current
        self.everywhere = False
        self.rows: list[ConversationSummary] = []
        self.deleted: set[int] = set()
        self._pending: Timer | None = None
        self.renamed: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="history"):
            yield Static("", id="history-title", markup=False)
            yield Input(placeholder="Search titles, questions and answers…", id="history-search")
            yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
            yield Static("Type to search · ↑↓ choose · Enter opens · F2 renames · F8 (or Delete in the list) "
                         "deletes · F4 all projects · Esc closes", id="history-help", markup=False)

    def on_mount(self) -> None:
        self._load()

    def _load(self) -> None:
        """Query the history again (scope or search changed, or a row was renamed or deleted)."""
        search = self.query_one("#history-search", Input).value
        try:
            self.rows = self.store.conversations(None if self.everywhere else self.project, search)
        except (sqlite3.Error, HistoryError) as exc:  # e.g. locked by another window for too long
            self.rows = []
            self.query_one("#history-title", Static).update(printable(f"History cannot be read: {exc}"))
            return
        table = self.query_one(DataTable)
        table.clear(columns=True)
        columns = ["", "When", "Title", "Expert", "Model", "Turns"] + (["Project"] if self.everywhere else [])
        table.add_columns(*columns)
        for row in self.rows:
            cells: list[Text | str] = ["●" if row.id == self.current else "", when(row.updated),
                                       Text(printable(row.title)), Text(printable(row.persona)),
                                       Text(printable(row.model)), str(row.turns)]
            if self.everywhere:
                cells.append(Text(printable(row.project)))
            table.add_row(*cells, key=str(row.id))
        scope = "all projects" if self.everywhere else printable(_from_home(self.project))
        found = f"{len(self.rows)} conversation{'s' if len(self.rows) != 1 else ''}"
        self.query_one("#history-title", Static).update(f"History · {scope} · {found}"
                                                        + (f" matching “{printable(search)}”" if search else ""))

    def _chosen(self) -> ConversationSummary | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row is None or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(Input.Changed, "#history-search")
    def _search(self) -> None:
        """Search a moment after the last key, not on every key (it reads every reply)."""
        if self._pending is not None:
            self._pending.stop()
        self._pending = self.set_timer(0.15, self._load)

    @on(Input.Submitted, "#history-search")
    def _open_from_search(self) -> None:
        if (row := self._chosen()) is not None:
            self.dismiss(row.id)

    @on(DataTable.RowSelected, "#history-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        self.dismiss(int(str(event.row_key.value)))

    def on_key(self, event: events.Key) -> None:
        table = self.query_one(DataTable)
        if event.key in ("up", "down") and not table.has_focus:  # choose while typing the search
            event.stop()
            table.move_cursor(row=max(0, table.cursor_row + (1 if event.key == "down" else -1)))
        elif event.key == "delete" and table.has_focus:
            event.stop()
            self.action_delete()

    def _write(self, change: Callable[..., None], *args: object) -> bool:
        """Make a change to the history; say so (and return False) when it cannot be written."""
        try:
            change(*args)
        except (sqlite3.Error, HistoryError) as exc:
            self.notify(printable(f"The history could not be changed: {exc}"), severity="error", markup=False)
            return False
        return True

    def action_toggle_scope(self) -> None:
        """Show every project's conversations, or this project's only."""
        self.everywhere = not self.everywhere
        self._load()

    def action_rename(self) -> None:
        """Give the highlighted conversation a new title."""
        row = self._chosen()
        if row is None:
            return

        def renamed(title: str | None) -> None:
            if title and self._write(self.store.rename, row.id, title):
                self.renamed[row.id] = title
                self._load()

        self.app.push_screen(TitleScreen(row.title), renamed)

    def action_delete(self) -> None:
        """Delete the highlighted conversation, after asking."""
        row = self._chosen()
        if row is None:
            return

        def decided(answer: str | None) -> None:
            if answer == "yes" and self._write(self.store.delete, row.id):
                self.deleted.add(row.id)
                self._load()

        self.app.push_screen(confirm(f"Delete “{row.title}”?", f"Its {row.turns} turns are removed from the "
                                     "history for good.", yes="Delete", no="Keep it"), decided)

