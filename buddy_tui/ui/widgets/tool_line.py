"""A tool call in the chat: one compact line (tool, arguments, result size) that expands to the
result; for an approved change, an Undo button."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Collapsible, Static
from textual.widgets.collapsible import CollapsibleTitle

from buddy_tui.context.attachments import printable
from buddy_tui.tools.paths import show
from buddy_tui.tools.specs import ToolCall, ToolResult
from buddy_tui.ui.safe import literal

#: How much of a tool's result the expanded line shows.
SHOWN_RESULT_CHARS = 4_000


def describe_call(call: ToolCall) -> str:
    """``Read app/models.py`` / ``Grep 'TODO' in app`` / ``Task security: check auth``...: the call
    in a few words."""
    args = call.input
    if call.name == "Task":  # ``Task security: check auth``
        about = f"{args.get('subagent_type') or ''}: {args.get('description') or ''}".strip(": ")
        return show(f"Task {about}".strip(), 400)
    main = args.get("path") or args.get("pattern") or ""
    extra = ""
    if call.name == "Grep" and args.get("path"):
        extra = f" in {args['path']}"
    elif call.name == "Read" and args.get("offset"):
        extra = f" from line {args['offset']}"
    shown = json.dumps(main) if call.name in ("Grep", "Glob") else str(main)
    return show(f"{call.name} {shown}{extra}".strip(), 400)  # a line break in a name cannot split the line


class UndoButton(Button):
    """"Undo this change": a button whose Enter says what it does in the key hints."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "press", "Undo this change", id="chat.undo")]


class ToolLine(Vertical):
    """Collapsed: ``▶ 🔧 Read app/models.py · 1.2 KB · round 1/12``; expanded: the result text."""

    @dataclass
    class UndoRequested(Message):
        """The user asked to undo the change this line made."""

        line: ToolLine

    def __init__(self, call: ToolCall, round_number: int, max_rounds: int) -> None:
        super().__init__(classes="tool-line")
        self.call = call
        self.round = f"round {round_number}/{max_rounds}"
        self.undoable = False

    def compose(self) -> ComposeResult:
        yield Collapsible(Static("…", classes="tool-result", markup=False),
                          title=self._title("running…"), collapsed=True)  # type: ignore[arg-type]

    def _title(self, state: str, replaces_call: bool = False) -> Content:
        what = state if replaces_call else f"{describe_call(self.call)} · {state}"
        return literal(f"🔧 {what} · {self.round}")

    def finish(self, outcome: ToolResult, undoable: bool = False) -> None:
        """Show how the call went (the tools' own summary names the call); offer Undo for a change."""
        summary = outcome.summary or f"{describe_call(self.call)} · {len(outcome.content):,} chars"
        if outcome.is_error and not summary.startswith(self.call.name):  # "⚠ not allowed by you" alone
            summary = f"{describe_call(self.call)} · {summary}"  # does not say what was refused
        self.query_one(Collapsible).title = self._title(("⚠ " if outcome.is_error else "") + summary,
                                                        replaces_call=True)  # type: ignore[assignment]
        self.set_class(outcome.is_error, "error")
        self.add_class("done")
        text = outcome.content
        if len(text) > SHOWN_RESULT_CHARS:
            text = text[:SHOWN_RESULT_CHARS] + f"\n… ({len(outcome.content) - SHOWN_RESULT_CHARS:,} more characters)"
        self.query_one(".tool-result", Static).update(printable(text))
        if undoable:
            self.undoable = True
            self.mount(UndoButton("Undo this change", classes="undo", variant="warning"))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if self.undoable:
            self.post_message(self.UndoRequested(self))

    def stopped(self) -> None:
        """The turn was stopped while this call waited or ran."""
        if not self.has_class("done"):
            self.query_one(Collapsible).title = self._title("⏹ stopped")  # type: ignore[assignment]
            self.add_class("done")

    def undone(self, what: str) -> None:
        """The change was reverted: the Undo control gives way to a plain ``↶ undone: what`` line
        (a reverted change cannot be undone twice), and focus on it stays on this line."""
        self.undoable = False
        self.add_class("undone")
        buttons = list(self.query(Button))
        if any(button.has_focus for button in buttons):
            self.query_one(CollapsibleTitle).focus(scroll_visible=False)
        for button in buttons:
            button.remove()
        self.mount(Static(printable(f"↶ undone: {what}"), classes="undone-mark", markup=False))
