"""The list ``/undo list`` opens: every file change Claude made in this conversation that can still
be undone, newest first. Dismissed with the id of the tool call whose change to undo, or None."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from buddy_tui.ui.safe import literal

if TYPE_CHECKING:
    from buddy_tui.tools.specs import ToolCall
    from buddy_tui.tools.workspace import ProposedChange


def describe_change(call: ToolCall, change: ProposedChange) -> str:
    """``Edit app/models.py (+1 -1)`` or ``Write app/cache.py (new file, 12 lines)``."""
    if change.old_text is None:
        lines = len(change.new_text.splitlines())
        return f"{call.name} {change.path} (new file, {lines} line{'' if lines == 1 else 's'})"
    body = change.diff.splitlines()
    added = sum(1 for line in body if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in body if line.startswith("-") and not line.startswith("---"))
    return f"{call.name} {change.path} (+{added} -{removed})"


class UndoScreen(ModalScreen[str | None]):
    """The changes that can be undone, newest first; Enter undoes the highlighted one, Esc closes."""

    AUTO_FOCUS = "#undo-list"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Close", id="undo.close")]

    def __init__(self, changes: Sequence[tuple[ToolCall, ProposedChange]]) -> None:
        """``changes``: oldest first, as the engine lists them."""
        super().__init__()
        self.changes = list(changes)

    def compose(self) -> ComposeResult:
        count = len(self.changes)
        with Vertical(id="undo-dialog"):
            yield Static(f"Undo a change Claude made ({count} can be undone, newest first)", id="undo-title",
                         markup=False)
            yield OptionList(*(Option(literal(f"{number}. {describe_change(call, change)}"), id=call.id)
                               for number, (call, change) in zip(range(count, 0, -1), reversed(self.changes),
                                                                 strict=True)),
                             id="undo-list")
            yield Static("↑ ↓ choose · Enter undoes it · Esc closes without undoing", id="undo-help", markup=False)

    def on_mount(self) -> None:
        self.query_one("#undo-list", OptionList).highlighted = 0

    @on(OptionList.OptionSelected, "#undo-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)
