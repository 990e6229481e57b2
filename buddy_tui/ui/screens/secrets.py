"""Secret-looking values in the files about to be sent: the user decides, nothing goes silently."""

from __future__ import annotations

from typing import ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from buddy_tui.core.context import Attachment
from buddy_tui.core.secrets import SecretFinding
from buddy_tui.ui.safe import literal

SecretsChoice = Literal["redact", "send", "cancel"]


class SecretsScreen(ModalScreen[SecretsChoice]):
    """Lists each finding (file, line, kind, masked value); redact, send as is, or cancel."""

    AUTO_FOCUS = "#redact"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "choose('redact')", "Redact", id="secrets.redact"),
        Binding("s", "choose('send')", "Send as is", id="secrets.send"),
        Binding("escape,c", "choose('cancel')", "Cancel", id="secrets.cancel"),
    ]

    def __init__(self, findings: list[tuple[Attachment, SecretFinding]]) -> None:
        super().__init__()
        self.findings = findings

    def compose(self) -> ComposeResult:
        shown = self.findings[:12]
        lines = [f"  {a.key}:{f.line + (a.lines[0] - 1 if a.lines else 0)}  {f.kind}  {f.preview}"
                 for a, f in shown]
        if len(self.findings) > len(shown):
            lines.append(f"  … and {len(self.findings) - len(shown)} more")
        with Vertical(id="dialog"):
            yield Static(literal(f"{len(self.findings)} secret-looking value(s) in the attached files"),
                         id="dialog-title")
            yield Static(literal("\n".join(lines)), id="dialog-detail")
            with Horizontal(id="dialog-buttons"):
                yield Button("Redact them (r)", id="redact", variant="primary")
                yield Button("Send as is (s)", id="send", variant="warning")
                yield Button("Cancel (Esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        """Close with the user's decision."""
        self.dismiss(choice if choice in ("redact", "send") else "cancel")  # type: ignore[arg-type]
