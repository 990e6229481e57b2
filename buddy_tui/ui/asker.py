"""The app's answers to the engine's questions: a dialog for each.

The engine runs in a worker, which must not touch widgets, so each question travels as a message
carrying a future (:class:`AskUser`); the chat pane shows the screen and the screen's result
resolves the future. Esc in a dialog means "cancel": the question goes back to the prompt, or,
while a reply streams, the whole turn stops (the chat pane sees to that).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from textual.message import Message
from textual.screen import ModalScreen

from buddy_tui.tools.asking import Approval, ChangeRequest, Declined, Verb
from buddy_tui.tools.specs import ToolCall

if TYPE_CHECKING:
    from buddy_tui.context.attachments import Attachment
    from buddy_tui.context.budget import Budget
    from buddy_tui.conversation.asker import Findings

#: Questions pop up in the middle of a turn, maybe while the user types: every key is dropped this long.
KEY_GUARD = 0.5


@dataclass
class AskUser(Message):
    """A question for the user: show ``screen``; its result resolves ``answer``."""

    screen: ModalScreen[Any]
    answer: asyncio.Future[Any]


class DialogAsker:
    """The engine's :class:`~buddy_tui.conversation.asker.Asker` for the app."""

    def __init__(self, post: Callable[[Message], object]) -> None:
        """``post`` delivers an :class:`AskUser` to whoever shows screens (the chat pane)."""
        self._post = post

    async def _ask(self, screen: ModalScreen[Any]) -> Any:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._post(AskUser(screen, answer))
        return await answer

    async def send_secrets_files(self, names: Sequence[str]) -> Literal["yes", "no"] | None:
        from buddy_tui.ui.screens.confirm import confirm

        listed = ", ".join(names)
        answer = await self._ask(confirm(
            f"Send {listed}?", f"{listed} looks like it holds secrets (keys, passwords, tokens); its contents would "
            "be sent to the model. Esc cancels sending.", yes="Send it", no="Leave it out", guard=KEY_GUARD))
        return "yes" if answer == "yes" else "no" if answer == "no" else None

    async def send_secret_values(self, findings: Findings) -> Literal["send", "redact"] | None:
        from buddy_tui.ui.screens.secrets import secrets_found

        answer = await self._ask(secrets_found(list(findings), guard=KEY_GUARD))
        return "send" if answer == "send" else "redact" if answer == "redact" else None

    async def over_budget(self, budget: Budget, attachments: Sequence[Attachment]) -> Literal["drop", "head"] | None:
        from buddy_tui.ui.screens.budget import over_budget

        answer = await self._ask(over_budget(budget, list(attachments), guard=KEY_GUARD))
        return "drop" if answer == "drop" else "head" if answer == "head" else None

    async def may_use(self, call: ToolCall) -> Declined | None:
        return None  # every call goes on to its own questions

    async def allow_secrets_file(self, tool: str, path: str, verb: Verb, agent: str = "") -> bool | Declined:
        from buddy_tui.ui.screens.approval import who_asks
        from buddy_tui.ui.screens.confirm import confirm

        who = who_asks(agent)
        answer = await self._ask(confirm(
            f"Let {who} {verb} {path}?", f"{path} looks like it holds secrets (keys, passwords, tokens); "
            f"letting {who} {verb} it sends its contents to the model.", yes=f"Let it {verb}", no="Refuse",
            guard=KEY_GUARD))
        return bool(answer == "yes")

    async def approve_change(self, change: ChangeRequest) -> Approval | Declined | None:
        from buddy_tui.ui.screens.approval import ApprovalScreen  # only when a change is asked

        approval: Approval | None = await self._ask(ApprovalScreen(change, guard=KEY_GUARD))
        return approval
