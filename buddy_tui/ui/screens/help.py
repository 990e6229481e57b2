"""F1 (and /help): every key binding, command and persona, on a screen of its own.

The page is built from the live app (help.py), so it shows keymap overrides from the config,
commands and personas added by the user or the project, and where each came from.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


class HelpScreen(ModalScreen[None]):
    """A scrollable help page; Esc, F1 or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,f1,q", "dismiss", "Close", id="help.close")]

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page

    def compose(self) -> ComposeResult:
        with Vertical(id="help-dialog"):
            yield Static("Help  (Esc closes, ↑ ↓ PgUp PgDn scroll)", id="help-title", markup=False)
            with VerticalScroll(id="help-body"):
                yield Markdown(self.page, id="help-page", open_links=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()
