"""Every question the conversation engine puts to a person, in one small interface.

The engine decides nothing that belongs to the user on its own: before a question leaves it asks
whether secret-looking files and values may go and what to cut when the request is too big; while
the reply streams, the tool runner asks about secrets files and changes (:mod:`buddy_tui.tools.asking`).
Whoever drives the engine passes an :class:`Asker`: the app answers with dialogs, ``buddy-tui ask``
with its flags, an agent through its parent. ``None`` from any question means "cancel": the
question is not sent and goes back to the person.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.budget import Budget
from buddy_tui.context.secrets import SecretFinding
from buddy_tui.tools.asking import ToolAsker

Findings = Sequence[tuple[Attachment, SecretFinding]]


class Asker(ToolAsker, Protocol):
    """The tool runner's questions, and those asked before a question is sent."""

    async def send_secrets_files(self, names: Sequence[str]) -> Literal["yes", "no"] | None:
        """Files named in the question look like secrets files (``names`` as they would be sent):
        send them too ("yes"), leave them out ("no"), or cancel."""

    async def send_secret_values(self, findings: Findings) -> Literal["send", "redact"] | None:
        """Secret-looking values in the attached files: send them as they are, redact them, or cancel."""

    async def over_budget(self, budget: Budget, attachments: Sequence[Attachment]) -> Literal["drop", "head"] | None:
        """The request does not fit the model's context: drop the files, send the head of the
        largest one, or cancel."""
