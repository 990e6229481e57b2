"""The text of ``/help``: every command and every key binding, built from the live registry."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from buddy_tui.core.commands import CommandRegistry

#: Keys of the prompt itself, which are not app bindings.
PROMPT_KEYS = [("Enter", "Send the question (or complete a partial /command)"),
               ("Tab", "Complete the highlighted /command"),
               ("↑ ↓", "Move through the /command menu"),
               ("Esc", "Close the menu, or stop a streaming answer")]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def key_name(key: str) -> str:
    """``ctrl+q`` -> ``Ctrl+Q``: how keys are written in the help page."""
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in key.split("+"))


def help_markdown(registry: CommandRegistry, app: App[object]) -> str:
    """A Markdown page listing commands (with their argument hints) and the key bindings."""
    lines = ["## Commands", "", "| command | what it does |", "|---|---|"]
    for command in registry.all():
        hint = f" {command.argument_hint}" if command.argument_hint else ""
        lines.append(f"| `/{_cell(command.name)}{_cell(hint)}` | {_cell(command.description)} |")
    lines += ["", "## Keys", "", "| key | action |", "|---|---|"]
    keymap = getattr(app, "_keymap", {}) or {}
    for binding in app.BINDINGS:
        if isinstance(binding, Binding) and binding.description:
            key = keymap.get(binding.id or "", binding.key)
            lines.append(f"| `{key_name(key.split(',')[0])}` | {_cell(binding.description)} |")
    lines += [f"| `{key}` | {_cell(action)} |" for key, action in PROMPT_KEYS]
    lines += ["", "Mention a file as `@path/to/file` to attach it; selecting one in the tree attaches it too."]
    return "\n".join(lines)
