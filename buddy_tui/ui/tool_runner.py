"""Runs the model's tool calls for one conversation, with the user's approval where it is due.

Read, Grep and Glob run without asking (but a secrets file is read only with consent for that
file). Edit and Write show a diff and wait for the user: allow once, allow the tool for the rest
of the conversation, or deny with a reason for the model. Tools the persona (or the command) does
not allow are refused and the model is told so. The runner never touches widgets: questions go
through ``ask``, which the chat pane answers from the UI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from textual.screen import ModalScreen

from buddy_tui.core.chat import ToolCall, ToolOutcome
from buddy_tui.core.files import IgnoreRules
from buddy_tui.core.tools import READ_ONLY, ProjectTools, ProposedChange, ToolError, propose_change, run_read_only
from buddy_tui.ui.screens.approval import Approval, ApprovalScreen
from buddy_tui.ui.screens.confirm import confirm

Ask = Callable[[ModalScreen[Any]], Awaitable[Any]]


class ToolRunner:
    """Tool state of one conversation: what was allowed for good, what was changed (for undo)."""

    def __init__(self, root: Path, ask: Ask) -> None:
        self.tools = ProjectTools(root, IgnoreRules(root))
        self.ask = ask
        self.always_allowed: set[str] = set()
        self.may_read: set[str] = set()  # secrets files the user let the model read
        self.changes: dict[str, ProposedChange] = {}  # by tool call id, for undo

    def reset(self) -> None:
        """A new conversation: every permission is asked for again."""
        self.always_allowed.clear()
        self.may_read.clear()
        self.changes.clear()

    async def execute(self, call: ToolCall, allowed: Sequence[str], persona: str) -> ToolOutcome:
        """Run one call and describe the result for the model and the chat."""
        if call.name not in allowed:
            names = ", ".join(allowed) or "none"
            return ToolOutcome(f"The {call.name} tool is not allowed for the {persona} persona here "
                               f"(allowed: {names}).", True, f"{call.name} refused: not allowed")
        try:
            if call.name in READ_ONLY:
                return await self._read_only(call)
            return await self._change(call)
        except ToolError as exc:
            return ToolOutcome(str(exc), True, f"{call.name} failed: {exc}")

    async def _read_only(self, call: ToolCall) -> ToolOutcome:
        path = call.input.get("path")
        needs_consent = (call.name == "Read" and isinstance(path, str) and path not in self.may_read
                         and await asyncio.to_thread(self.tools.is_sensitive, path))
        if needs_consent and isinstance(path, str):
            answer = await self.ask(confirm(
                f"Let Claude read {path}?", f"{path} looks like it holds secrets (keys, passwords, "
                "tokens); reading it sends its contents to the model.", yes="Let it read", no="Refuse"))
            if answer != "yes":
                return ToolOutcome(f"The user did not allow reading {path}.", True, "not allowed by you")
            self.may_read.add(path)
        result = await asyncio.to_thread(run_read_only, self.tools, call.name, call.input)
        content, hidden = result.content, 0
        if call.name == "Grep" and not result.is_error:
            content, hidden = await asyncio.to_thread(self._without_secrets, result.content)
        summary = result.summary + (f" ({hidden} in secrets files left out)" if hidden else "")
        return ToolOutcome(content, result.is_error, summary)

    def _without_secrets(self, grep_output: str) -> tuple[str, int]:
        """Drop Grep matches from files that look like secrets (never sent without consent)."""
        kept, hidden = [], 0
        verdicts: dict[str, bool] = {}
        for line in grep_output.splitlines():
            path = line.split(":", 1)[0]
            if ":" in line and path not in verdicts:
                try:
                    verdicts[path] = self.tools.is_sensitive(path) and path not in self.may_read
                except ToolError:
                    verdicts[path] = False
            if verdicts.get(path, False):
                hidden += 1
            else:
                kept.append(line)
        return "\n".join(kept), hidden

    async def _change(self, call: ToolCall) -> ToolOutcome:
        change = await asyncio.to_thread(propose_change, self.tools, call.name, call.input)
        sensitive = await asyncio.to_thread(self.tools.is_sensitive, change.path)
        if sensitive or call.name not in self.always_allowed:
            approval: Approval | None = await self.ask(
                ApprovalScreen(call.name, change.path, change.diff, sensitive, creating=change.old_text is None))
            if approval is None or approval.decision == "deny":
                reason = f" Their reason: {approval.reason}" if approval and approval.reason else ""
                return ToolOutcome(f"The user denied this change to {change.path}.{reason}", True, "denied by you")
            if approval.decision == "always" and not sensitive:
                self.always_allowed.add(call.name)
        result = await asyncio.to_thread(self.tools.apply, change)
        self.changes[call.id] = change
        return ToolOutcome(result.content, result.is_error, result.summary)

    async def undo(self, call_id: str) -> ToolOutcome:
        """Revert the change a call made."""
        change = self.changes.get(call_id)
        if change is None:
            return ToolOutcome("Nothing to undo.", True, "nothing to undo")
        try:
            result = await asyncio.to_thread(self.tools.undo, change)
        except ToolError as exc:
            return ToolOutcome(str(exc), True, f"undo failed: {exc}")
        del self.changes[call_id]
        return ToolOutcome(result.content, result.is_error, result.summary or "undone")
