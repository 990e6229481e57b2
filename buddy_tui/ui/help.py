"""The text of ``/help``: every command, persona and key binding, built from the live session."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from textual.binding import Binding, BindingType

from buddy_tui.conversation.session import Session
from buddy_tui.personas.catalog import short_path
from buddy_tui.ui.safe import markdown_literal

#: Keys of the prompt itself, which are not app bindings.
PROMPT_KEYS = [("Enter", "Send the question (or complete a partial /command); on an empty prompt after a reply "
                "cut at the token limit, ask for the rest"),
               ("Tab", "Complete the highlighted /command or @file; with nothing to complete it does nothing"),
               ("Shift+Tab", "Leave the prompt: to the chat, then the preview and the tree (Tab goes forward "
                "again: tree, preview, chat, prompt); Ctrl+T and Ctrl+L jump to the tree and the prompt"),
               ("Ctrl+J / Shift+Enter", "New line (Shift+Enter where the terminal reports it)"),
               ("↑ ↓", "Move through the /command menu; otherwise, on the first or last line, earlier "
                "questions and back to the draft"),
               ("Esc", "Close the menu, drop a persona pick, or stop a streaming answer")]
#: Keys of the other screens and panes: (where, key, what it does).
OTHER_KEYS = [("Chat items (Ctrl+G)", "↑ ↓ / Tab, Shift+Tab",
               "Move through the copy links, tool lines, agent panels, Undo controls, code blocks and file links"),
              ("Chat items (Ctrl+G)", "Enter", "Act: copy, expand or collapse (a tool line, an agent's panel; a click "
               "on a panel's header does it too), undo the change, copy the code, open the file"),
              ("Chat items (Ctrl+G)", "Esc, Ctrl+G, Ctrl+L", "Back to the prompt; so does typing a letter, which "
               "lands there (while a reply streams, Esc stops it)"),
              ("Undo list (/undo list)", "↑ ↓, Enter, Esc", "Choose, undo that change, close"),
              ("File preview", "a / Enter", "Attach the selected lines (or the whole file) to the next question"),
              ("File preview", "Shift+↑ ↓", "Select lines"),
              ("Find file (Ctrl+F)", "↑ ↓, Enter, Esc", "Move, open the file, close"),
              ("Approval", "Enter, Ctrl+Y, Esc", "Deny (with the reason typed, if any), allow once, stop the reply; "
               "allowing for the whole conversation is a button that asks again"),
              ("Any question", "← → / Tab, Enter, Esc", "Choose an answer, confirm it, cancel; letters never answer "
               "a question, and the safe answer is focused first"),
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
        origin = short_path(command.path, session.root) if command.path and command.source != "bundled" \
            else command.source
        if (override := session.catalog.override_of("command", command.name)) is not None \
                and override.path == command.path:
            origin += f", overrides the {override.lost_source} one"
        lines.append(f"| /{_cell(command.name)}{hint} | {_cell(command.description)} | {_cell(origin)} |")
    lines += ["", "## Personas", "", "| persona | what it is for | from |", "|---|---|---|"]
    for persona in session.personas:
        marker = " (current)" if persona.name == session.current.name else ""
        origin = persona.source if persona.source == "bundled" or persona.path is None \
            else short_path(persona.path, session.root)
        if persona.declared_name and persona.path is not None and persona.path.stem != persona.declared_name:
            origin += f" (named {persona.declared_name})"  # a persona-* file name says it already
        if (override := session.catalog.override_of("persona", persona.name)) is not None \
                and override.path == persona.path:
            origin += f", overrides the {override.lost_source} {persona.name}"
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
