"""The text of ``/help``: every command and every key binding, built from the live registry."""

from __future__ import annotations

from textual.app import App

from buddy_tui.core.commands import CommandRegistry


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def help_markdown(registry: CommandRegistry, app: App[object]) -> str:
    """A Markdown page listing commands (with their argument hints) and the active key bindings."""
    lines = ["## Commands", "", "| command | what it does |", "|---|---|"]
    for command in registry.all():
        hint = f" {command.argument_hint}" if command.argument_hint else ""
        lines.append(f"| `/{_cell(command.name)}{_cell(hint)}` | {_cell(command.description)} |")
    lines += ["", "## Keys", "", "| key | action |", "|---|---|"]
    seen: set[str] = set()
    for key, binding in sorted(app.active_bindings.items()):
        description = binding.binding.description
        if not description or description in seen:
            continue
        seen.add(description)
        lines.append(f"| `{app.get_key_display(binding.binding)}` | {_cell(description)} |")
    lines += ["", "Mention a file as `@path/to/file` to attach it; select one in the tree to attach it too."]
    return "\n".join(lines)
