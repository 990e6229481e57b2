"""Secret-looking values in the files about to be sent: the user decides, nothing goes silently."""

from __future__ import annotations

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.secrets import SecretFinding
from buddy_tui.ui.screens.choice import Answer, ChoiceScreen


def secrets_found(findings: list[tuple[Attachment, SecretFinding]], guard: float = 0.0) -> ChoiceScreen:
    """List each finding (file:line, kind, masked value); "redact" (focused first), "send" as is,
    or cancel."""
    shown = findings[:12]
    lines = [f"  {a.key}:{f.line + (a.lines[0] - 1 if a.lines else 0)}  {f.kind}  {f.preview}" for a, f in shown]
    if len(findings) > len(shown):
        lines.append(f"  … and {len(findings) - len(shown)} more")
    return ChoiceScreen(
        f"{len(findings)} secret-looking value(s) in the attached files", "\n".join(lines),
        [Answer("redact", "Redact them", "primary"), Answer("send", "Send as is", "warning"),
         Answer("cancel", "Cancel")], focus="redact", guard=guard)
