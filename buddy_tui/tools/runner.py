"""Runs the model's tool calls for one conversation, asking first where that is due.

Read, Grep and Glob run without asking (but a secrets file is read only with consent for that
file). Edit and Write are shown as a diff and need an approval: once, for the rest of the
conversation, or denied with a reason for the model. Tools the persona (or the command) does not
allow are refused and the model is told so. Every question goes to a :class:`ToolAsker`, so the
same runner serves the app, ``buddy-tui ask`` and agents: an agent's calls go through the lead's
runner (its permissions and undo list), named, and agents running at the same time ask one
question at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.tools.asking import Approval, ChangeRequest, Declined, ToolAsker, Verb
from buddy_tui.tools.paths import show
from buddy_tui.tools.protected import protected_reason
from buddy_tui.tools.specs import READ_ONLY, ToolCall, ToolResult

if TYPE_CHECKING:
    from buddy_tui.tools.workspace import ProjectTools, ProposedChange


class ToolRunner:
    """Tool state of one conversation: what was allowed for good, what was changed (for undo)."""

    def __init__(self, root: Path, rules: IgnoreRules, asker: ToolAsker, keep: bool = False) -> None:
        """``keep``: tools allowed for the conversation stay allowed in the project's later
        conversations (the config's remember_tool_permissions), remembered in the UI state."""
        self._root, self._rules = root, rules
        self._tools: ProjectTools | None = None
        self.asker = asker
        self.keep = keep
        self.always_allowed: set[str] = self._kept()
        self.may_read: set[str] = set()  # secrets files the user let the model read
        self.changes: dict[str, ProposedChange] = {}  # by tool call id, for undo, oldest first
        self.changed_by: dict[str, ToolCall] = {}  # the call that made each change, by the same id
        self._asking = asyncio.Lock()  # one question at a time, however many agents run

    @property
    def tools(self) -> ProjectTools:
        """The project's tools, loaded with the first call (not needed to start the app)."""
        if self._tools is None:
            from buddy_tui.tools.workspace import ProjectTools

            self._tools = ProjectTools(self._root, self._rules)
        return self._tools

    def _kept(self) -> set[str]:
        if not self.keep:
            return set()
        from buddy_tui.settings.ui_state import UiState

        return UiState.load().tools_for(self._root)

    def reset(self) -> None:
        """A new conversation: every permission is asked for again (but those kept for the project)."""
        self.always_allowed = self._kept()
        self.may_read.clear()
        self.changes.clear()
        self.changed_by.clear()

    async def execute(self, call: ToolCall, allowed: Sequence[str], persona: str, agent: str = "",
                      on_ask: Callable[[bool], None] | None = None) -> ToolResult:
        """Run one call and describe the result for the model and the chat; never raises (but
        for cancelling). ``agent``: the title of the agent that made the call ("" for the lead),
        named in any question; ``on_ask`` hears True before a person is asked and False after."""
        from buddy_tui.tools.workspace import ToolError

        who = _Asking(agent, on_ask, self._asking)

        if (declined := await self.asker.may_use(call)) is not None:
            return ToolResult(declined.message, True, declined.summary)
        if call.name not in allowed:
            names = ", ".join(allowed) or "none"
            return ToolResult(f"The {call.name} tool is not allowed for the {persona} persona here "
                              f"(allowed: {names}).", True,
                              f"{_named(call)} refused: {call.name} is not allowed for {persona}")
        try:
            outcome = await (self._read_only(call, who) if call.name in READ_ONLY else self._change(call, who))
        except ToolError as exc:
            outcome = ToolResult(str(exc), True, f"{call.name} failed: {show(str(exc))}")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an OS or library error must end this call, not the whole turn
            outcome = ToolResult(f"{call.name} failed: {type(exc).__name__}: {exc}", True, f"{call.name} failed")
        # Every result, errors included: a path or an error message can hold a secret too.
        return await asyncio.to_thread(self._redacted, outcome)

    @staticmethod
    def _redacted(outcome: ToolResult) -> ToolResult:
        """Secret-looking values in what a tool read, its paths and its errors are redacted before
        the model sees them (and the summary before the user's log does); tools that return part
        of a file have already redacted it by what the whole file holds (``outcome.redacted``)."""
        from buddy_tui.context.secrets import find_secrets, redact

        findings = find_secrets(outcome.content)
        summary_findings = find_secrets(outcome.summary)
        count = len(findings) + outcome.redacted
        summary = redact(outcome.summary, summary_findings) if summary_findings else outcome.summary
        if not count and not summary_findings:
            return outcome
        content = redact(outcome.content, findings) if findings else outcome.content
        note = f" ({count} secret value(s) redacted)" if count else ""
        return ToolResult(content, outcome.is_error, summary + note)

    def _key(self, path: str) -> str:
        """One name per file, however the model spells it (./.env, .env)."""
        return self.tools.resolve(path).relative_to(self.tools.root).as_posix()

    def _secret_and_unallowed(self, rel: str) -> bool:
        from buddy_tui.tools.workspace import ToolError

        try:
            return self.tools.is_sensitive(rel) and rel not in self.may_read
        except ToolError:
            return True

    async def _consent(self, tool: str, path: str, verb: Verb, who: _Asking) -> ToolResult | None:
        """For a secrets file: None when the model may touch it (asked once per file), else the
        refusal to hand back."""
        key = await asyncio.to_thread(self._key, path)
        if key in self.may_read or not await asyncio.to_thread(self.tools.is_sensitive, key):
            return None
        async with who:
            if key in self.may_read:  # another agent asked meanwhile, and it was allowed
                return None
            answer = await (self.asker.allow_secrets_file(tool, key, verb, who.agent) if who.agent
                            else self.asker.allow_secrets_file(tool, key, verb))
        if isinstance(answer, Declined):
            return ToolResult(answer.message, True, answer.summary)
        if not answer:
            return ToolResult(f"The user did not allow {'reading' if verb == 'read' else 'changing'} {show(path)}.",
                              True, f"{tool} {show(key, 80)} refused: not allowed by you")
        self.may_read.add(key)
        return None

    async def _read_only(self, call: ToolCall, who: _Asking) -> ToolResult:
        path = call.input.get("path")
        if call.name == "Read" and isinstance(path, str) and (
                refused := await self._consent(call.name, path, "read", who)):
            return refused
        from buddy_tui.tools.workspace import run_read_only

        return await asyncio.to_thread(run_read_only, self.tools, call.name, call.input, self._secret_and_unallowed)

    async def _change(self, call: ToolCall, who: _Asking) -> ToolResult:
        path = call.input.get("path")
        # Consent before even looking: a refused file must not answer "found" or "not found".
        if isinstance(path, str) and (refused := await self._consent(call.name, path, "change", who)):
            return refused
        from buddy_tui.tools.workspace import propose_change

        change = await asyncio.to_thread(propose_change, self.tools, call.name, call.input)
        sensitive = await asyncio.to_thread(self.tools.is_sensitive, change.path)
        # Agent, editor and git configuration: asked about every time, in every mode.
        protected = protected_reason(path if isinstance(path, str) else "", change.path)
        if sensitive or protected or call.name not in self.always_allowed:
            async with who:
                approval: Approval | Declined | None
                if not sensitive and not protected and call.name in self.always_allowed:
                    approval = Approval("once")  # allowed for the conversation while this call waited
                else:
                    approval = await self.asker.approve_change(ChangeRequest(
                        call.name, change.path, change.diff, sensitive or bool(protected),
                        creating=change.old_text is None, protected=protected, agent=who.agent))
            if isinstance(approval, Declined):
                return ToolResult(approval.message, True, approval.summary)
            if approval is None or approval.decision == "deny":
                reason = f" Their reason: {approval.reason}" if approval and approval.reason else ""
                return ToolResult(f"The user denied this change to {show(change.path)}.{reason}", True,
                                  f"{call.name} {show(change.path, 80)} refused: denied by you")
            if approval.decision == "always" and not sensitive and not protected:
                self.always_allowed.add(call.name)
                if self.keep:
                    from buddy_tui.settings.ui_state import UiState

                    UiState.load().remember_tools(self._root, self.always_allowed)
        result = await asyncio.to_thread(self.tools.apply, change)
        self.changes[call.id] = change
        self.changed_by[call.id] = call
        return result

    def undoable(self) -> list[tuple[ToolCall, ProposedChange]]:
        """The changes of this conversation that can still be taken back, oldest first."""
        return [(self.changed_by[call_id], change) for call_id, change in self.changes.items()
                if call_id in self.changed_by]

    async def undo(self, call_id: str) -> ToolResult:
        """Revert the change a call made."""
        from buddy_tui.tools.workspace import ToolError

        change = self.changes.get(call_id)
        if change is None:
            return ToolResult("Nothing to undo.", True, "nothing to undo")
        try:
            result = await asyncio.to_thread(self.tools.undo, change)
        except ToolError as exc:
            return ToolResult(str(exc), True, f"undo failed: {exc}")
        del self.changes[call_id]
        self.changed_by.pop(call_id, None)
        return ToolResult(result.content, result.is_error, result.summary or "undone")


class _Asking:
    """Who asks (an agent's title, or "" for the lead), held while a person is asked: one
    question at a time, and ``on_ask`` hears when one starts (True) and ends (False)."""

    def __init__(self, agent: str, on_ask: Callable[[bool], None] | None, lock: asyncio.Lock) -> None:
        self.agent, self._on_ask, self._lock = agent, on_ask, lock

    async def __aenter__(self) -> None:
        if self._on_ask is not None:
            self._on_ask(True)
        await self._lock.acquire()

    async def __aexit__(self, *_: object) -> None:
        self._lock.release()
        if self._on_ask is not None:
            self._on_ask(False)


def _named(call: ToolCall) -> str:
    """``Write x.py``, ``Grep 'TODO'``: the call and what it was aimed at, for a one-line summary."""
    return f"{call.name} {show(call.target, 80)}".strip()
