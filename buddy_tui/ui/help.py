"""The text of ``/help``: every command, persona and key binding, built from the live session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType

from buddy_tui.conversation.session import Session
from buddy_tui.ui.safe import markdown_literal

#: Keys of the prompt itself, which are not app bindings.
PROMPT_KEYS = [("Enter", "Send the question (or complete a partial /command); on an empty prompt after a reply "
                "cut at the token limit, ask for the rest"),
               ("Tab", "Complete the highlighted /command"),
               ("Ctrl+J / Shift+Enter", "New line (Shift+Enter where the terminal reports it)"),
               ("↑ ↓", "Move through the /command menu; otherwise, on the first or last line, earlier "
                "questions and back to the draft"),
               ("Esc", "Close the menu, drop a persona pick, or stop a streaming answer")]
#: Keys of the other screens and panes: (where, key, what it does).
OTHER_KEYS = [("File preview", "a / Enter", "Attach the selected lines (or the whole file) to the next question"),
              ("File preview", "Shift+↑ ↓", "Select lines"),
              ("Find file (Ctrl+F)", "↑ ↓, Enter, Esc", "Move, open the file, close"),
              ("Approval", "y / a / n, Esc", "Allow once, allow for this conversation, deny, stop the reply"),
              ("History (/resume)", "Enter, F2, F8, F4, Esc", "Open, rename, delete, all projects, close"),
              ("Help", "Esc, F1, q", "Close this page")]


_cell = markdown_literal  # text from files, shown literally inside a Markdown table cell


def key_name(key: str) -> str:
    """``ctrl+q`` -> ``Ctrl+Q``: how keys are written in the help page."""
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in key.split("+"))


def shown_key(binding: Binding, keymap: Mapping[str, str]) -> str:
    """The first key ``binding`` is on once ``keymap`` (binding id -> keys) applies, as help shows it."""
    return key_name(keymap.get(binding.id or "", binding.key).split(",")[0].strip())


def help_markdown(session: Session, bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> str:
    """A Markdown page listing commands and personas (with where each came from) and the keys of
    ``bindings`` (those with a description) as ``keymap`` rebinds them."""
    lines = ["## Commands", "", "| command | what it does | from |", "|---|---|---|"]
    for command in session.catalog.commands.all():
        hint = f" {_cell(command.argument_hint)}" if command.argument_hint else ""
        origin = str(command.path) if command.path and command.source != "bundled" else command.source
        lines.append(f"| /{_cell(command.name)}{hint} | {_cell(command.description)} | {_cell(origin)} |")
    lines += ["", "## Personas", "", "| persona | what it is for | from |", "|---|---|---|"]
    for persona in session.personas:
        marker = " (current)" if persona.name == session.current.name else ""
        origin = persona.source if persona.source == "bundled" or persona.path is None else str(persona.path)
        lines.append(f"| {_cell(persona.name)}{marker} | {_cell(persona.summary)} | {_cell(origin)} |")
    lines += ["", "## Keys", "", "| key | action |", "|---|---|"]
    for binding in bindings:
        if isinstance(binding, Binding) and binding.description:
            lines.append(f"| {shown_key(binding, keymap)} | {_cell(binding.description)} |")
    lines += [f"| {key} | {_cell(action)} |" for key, action in PROMPT_KEYS]
    lines += ["", "### Elsewhere", "", "| where | key | action |", "|---|---|---|"]
    lines += [f"| {where} | {key} | {_cell(action)} |" for where, key, action in OTHER_KEYS]
    lines += ["", "Every action is also in the command palette (Ctrl+P), including the theme and the model."]
    where = f"`{markdown_literal(str(session.store.path))}`" if session.store else "nowhere: history is off"
    lines += ["", f"Conversations are saved as they stream ({where}): /resume opens an earlier one, "
              "`buddy-tui --continue` reopens the latest, /export saves one as Markdown.",
              "Mention a file as `@path/to/file` to attach it; selecting one in the tree attaches it too.",
              "Add your own personas and commands: see the README (`.claude/commands/`, `.claude/agents/`, "
              "`.buddy/personas/`, and the config folder)."]
    return "\n".join(lines)
