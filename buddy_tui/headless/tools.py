"""The model's tool calls in ``buddy-tui ask``, where nobody can be asked.

The reading tools run (secret-looking values in what they return redacted, secrets files not
read). Edit and Write get the answer the app gives when the user says no, unless ``--allow-edits``
was given: then they run through the same path the app takes after the user approves
(:func:`~buddy_tui.tools.workspace.propose_change`, then :meth:`ProjectTools.apply`), confined to the
project, never on a secrets file without ``--allow-secrets``, and each change is announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buddy_tui.conversation.chat import ToolCall, ToolResult
from buddy_tui.tools.workspace import READ_ONLY, ProjectTools, ToolError, propose_change, run_read_only

if TYPE_CHECKING:
    from buddy_tui.conversation.session import Session

HEADLESS_NOTE = ("This question comes from `buddy-tui ask`, a non-interactive run whose reply goes to a script "
                 "or a file. You may read the project (Read, Grep, Glob) but not change it: show any change "
                 "as a unified diff in your answer instead.")
EDITS_NOTE = ("This question comes from `buddy-tui ask`, a non-interactive run whose reply goes to a script or "
              "a file. The user allowed changes (--allow-edits): Edit and Write change the project's files at "
              "once, with no review, so make only the changes the question calls for and say what you changed.")


def offered_tools(allowed: Sequence[str], allow_edits: bool) -> tuple[tuple[str, ...], str | None]:
    """The tools offered to the model, and the note that tells it what it may do (None when the
    persona could not change files anyway)."""
    changing = any(name not in READ_ONLY for name in allowed)
    if allow_edits:
        return tuple(allowed), EDITS_NOTE if changing else None
    return tuple(t for t in allowed if t in READ_ONLY), HEADLESS_NOTE if changing else None


class HeadlessTools:
    """Runs one turn's tool calls for ``buddy-tui ask``; ``changed`` hears "edited PATH" (or
    "created PATH") after each file change."""

    def __init__(self, root: Path, session: Session, allowed: Sequence[str], persona: str, *,
                 allow_edits: bool = False, allow_secrets: bool = False,
                 changed: Callable[[str], None] | None = None) -> None:
        self.tools = ProjectTools(root, session.rules)
        self.allowed = tuple(allowed)
        self.persona = persona
        self.allow_edits = allow_edits
        self.allow_secrets = allow_secrets
        self.changed = changed

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run one call and describe the outcome for the model; never raises (but for cancelling)."""
        from buddy_tui.context.secrets import find_secrets, redact

        if call.name not in self.allowed:
            return ToolResult(f"The {call.name} tool is not allowed for the {self.persona} persona here (allowed: "
                              f"{', '.join(self.allowed) or 'none'}).", True, f"{call.name} refused: not allowed")
        if call.name not in READ_ONLY and not self.allow_edits:
            return ToolResult(f"{call.name} is not available: this is a non-interactive run (buddy-tui ask) and "
                              "changing files needs the user's approval in the interactive app (buddy-tui). Nothing "
                              "was changed. Show the change in your answer instead, as a unified diff.",
                              True, f"{call.name} refused: changing files needs the app")
        try:
            outcome = await (self._read(call) if call.name in READ_ONLY else self._change(call))
        except ToolError as exc:
            return ToolResult(str(exc), True, f"{call.name} failed: {exc}")
        except Exception as exc:  # an OS or library error ends this call, not the turn
            return ToolResult(f"{call.name} failed: {type(exc).__name__}: {exc}", True, f"{call.name} failed")
        findings = await asyncio.to_thread(find_secrets, outcome.content)
        if not findings:
            return outcome
        return ToolResult(redact(outcome.content, findings), outcome.is_error,
                          f"{outcome.summary} ({len(findings)} secret value(s) redacted)")

    async def _read(self, call: ToolCall) -> ToolResult:
        path = call.input.get("path")
        if call.name == "Read" and isinstance(path, str) and await asyncio.to_thread(self.tools.is_sensitive, path):
            return ToolResult(f"{path} looks like it holds secrets; the user was not asked (this is a "
                              "non-interactive run), so it was not read.", True, f"Read {path} refused: secrets")
        return await asyncio.to_thread(run_read_only, self.tools, call.name, call.input, self._skip)

    async def _change(self, call: ToolCall) -> ToolResult:
        """Edit or Write, allowed by --allow-edits: proposed and applied as the app does once approved."""
        path = call.input.get("path")
        # A secrets file is refused before it is even looked at, so the answer says nothing about it.
        if isinstance(path, str) and not self.allow_secrets and await asyncio.to_thread(self.tools.is_sensitive, path):
            return self._secrets_refusal(call.name, path)
        change = await asyncio.to_thread(propose_change, self.tools, call.name, call.input)
        if not self.allow_secrets and await asyncio.to_thread(self.tools.is_sensitive, change.path):
            return self._secrets_refusal(call.name, change.path)
        result = await asyncio.to_thread(self.tools.apply, change)
        if self.changed is not None:
            self.changed(f"{'created' if change.old_text is None else 'edited'} {change.path}")
        return result

    @staticmethod
    def _secrets_refusal(name: str, path: str) -> ToolResult:
        return ToolResult(f"{path} looks like it holds secrets (keys, passwords, tokens); changing it needs "
                          "--allow-secrets as well as --allow-edits. Nothing was changed.", True,
                          f"{name} {path} refused: secrets")

    def _skip(self, rel: str) -> bool:
        """Files Grep must not search: secrets files (and paths that cannot be checked)."""
        try:
            return self.tools.is_sensitive(rel)
        except ToolError:
            return True
