"""Undoing Claude's file changes from the chat: the Undo control on a tool line, ``/undo`` (the last
change) and ``/undo list`` (one chosen from a list). All three go through :func:`undo_change`, so
the tool line, the note in the chat and the engine always tell the same story."""

from __future__ import annotations

from typing import TYPE_CHECKING

from buddy_tui.ui.widgets.tool_line import ToolLine

if TYPE_CHECKING:
    from buddy_tui.tools.specs import ToolCall
    from buddy_tui.ui.widgets.chat_pane import ChatPane

USAGE = "Usage: /undo (the last change Claude made) or /undo list (choose one)."


async def undo_command(pane: ChatPane, arguments: str) -> None:
    """``/undo``: undo the last change; ``/undo list``: choose one from a list."""
    word = arguments.strip().lower()
    if word not in ("", "list"):
        await pane.note(USAGE, "warning")
        return
    changes = pane.engine.undoable()
    if not changes:
        await pane.note(_nothing_to_undo(pane))
        return
    if word == "":
        await undo_change(pane, changes[-1][0])
        return
    from buddy_tui.ui.screens.undo import UndoScreen

    calls = {call.id: call for call, _change in changes}

    def chosen(call_id: str | None) -> None:
        if call_id is not None and call_id in calls:
            pane.call_later(undo_change, pane, calls[call_id])

    pane.app.push_screen(UndoScreen(changes), chosen)


def _nothing_to_undo(pane: ChatPane) -> str:
    """Why there is nothing to undo, in the user's terms."""
    if pane.transcript.query(".tool-line.undone"):
        return "Nothing left to undo: every file change Claude made in this conversation has been undone."
    return ("Nothing to undo: Claude has not changed any file in this conversation. (Changes made before "
            "/clear, or before a conversation was reopened, cannot be undone from here.)")


async def undo_change(pane: ChatPane, call: ToolCall) -> None:
    """Undo the change ``call`` made, mark its tool line, and say plainly what happened. Not while
    a reply streams: Claude may be working on the same file, and would not hear of it until later."""
    if pane.busy:
        await pane.note("Claude is still working: wait for the reply to finish (or press Esc to stop it), "
                        "then undo.", "warning")
        return
    changes = pane.engine.undoable()
    found = next((i for i, (c, _change) in enumerate(changes) if c.id == call.id), None)
    if found is None:
        await pane.note(f"Claude's {call.name} was already undone: there is nothing left to take back.")
        return
    change = changes[found][1]
    outcome = await pane.engine.undo(call)
    if outcome.is_error:
        later = any(c.path == change.path for _call, c in changes[found + 1:])
        hint = f" Undo the later change to {change.path} first (/undo list)." if later else ""
        await pane.note(f"Could not undo Claude's {call.name} of {change.path}: {outcome.content}{hint}", "error")
        return
    created = change.old_text is None
    for line in pane.transcript.query(ToolLine):
        if line.call.id == call.id:
            line.undone(f"{change.path} deleted" if created else f"{change.path} restored")
    await pane.note(f"↶ Undid Claude's {call.name}: deleted {change.path}, the file it had created." if created
                    else f"↶ Undid Claude's {call.name} of {change.path}: the file is back as it was before.")
