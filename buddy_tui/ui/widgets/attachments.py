"""Attaching files to the next question: from the tree, the preview, /add, /drop and /files.

Methods of :class:`ChatPane` (bound in its class body), kept apart so each module stays readable
in one sitting.
"""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from buddy_tui.context.attachments import ContextError, expand_paths, is_sensitive, load_attachment, printable
from buddy_tui.context.folder import display_path
from buddy_tui.personas.commands import split_arguments
from buddy_tui.ui.screens.confirm import confirm

if TYPE_CHECKING:
    from buddy_tui.ui.widgets.chat_pane import ChatPane


def describe(pane: ChatPane, path: Path) -> str:
    """``config.txt`` or, for a link, ``config.txt → .env``: exactly what would be sent."""
    try:
        name = path.relative_to(pane.session.root).as_posix()
    except ValueError:
        name = str(path)
    target = display_path(path, pane.session.root)
    return name if target == name else f"{name} → {target}"

def attach(pane: ChatPane, path: Path, lines: tuple[int, int] | None = None) -> None:
    """Attach a project file (or some of its lines) to the next question, asking first if it
    may hold secrets."""
    if is_sensitive(path):
        rel = pane._describe(path)
        pane.app.push_screen(
            confirm(f"Attach {rel}?",
                    f"{rel} looks like a file that holds secrets (keys, passwords, tokens). "
                    "Its contents would be sent to the model.", yes="Attach it", no="Don't"),
            lambda ok: pane._attach_if(ok, path, lines))
    else:
        pane._attach_now(path, lines)

def attach_if(pane: ChatPane, answer: str | None, path: Path, lines: tuple[int, int] | None) -> None:
    if answer == "yes":
        pane._attach_now(path, lines)

@work(thread=True, group="attach")
def attach_now(pane: ChatPane, path: Path, lines: tuple[int, int] | None = None) -> None:
    try:
        pane.post_message(pane.Attached(load_attachment(path, pane.session.root, lines), ""))
    except ContextError as exc:
        pane.post_message(pane.Attached(None, str(exc)))

def on_attached(pane: ChatPane, event: ChatPane.Attached) -> None:
    """A file was read for attaching: show its chip, or say why it could not be."""
    if event.attachment is None:
        pane.app.notify(printable(event.error), title="Not attached", severity="warning", markup=False)
        return
    pane.prompt.add_attachment(event.attachment)
    pane.update_activation()

async def manage_files(pane: ChatPane, name: str, arguments: str) -> None:
    """``/add PATH...``, ``/drop [PATH...]`` and ``/files``."""
    words = split_arguments(arguments)
    if name == "add":
        if not words:
            await pane.note("Usage: /add PATH... (paths or globs, relative to the project)", "warning")
            return
        paths, missing = expand_paths(words, pane.session.root)
        for path in paths:
            pane.attach(path)
        if missing:
            await pane.note(f"No such file in the project: {', '.join(missing)}", "warning")
    elif name == "drop":
        chosen = [a for a in pane.prompt.attachments
                  if not words or any(fnmatch(a.key, w) or fnmatch(a.path, w) for w in words)]
        for attachment in chosen:
            pane.prompt.remove_attachment(attachment.key)
        await pane.note(f"Dropped {len(chosen)} attached file(s)." if chosen else "Nothing matched to drop.")
    else:
        attached = pane.prompt.attachments
        if not attached:
            await pane.note("No files are attached. Select one in the tree, /add PATH, or write @path.")
            return
        lines = [f"{a.key}: {a.label.partition(' ')[2]}" for a in attached]
        total = sum(a.tokens for a in attached)
        await pane.note("Attached to the next question:\n" + "\n".join(lines) + f"\nTotal ~{total:,} tokens.")

