"""What the tool runner may ask whoever drives the conversation, and the answers it takes.

The runner never talks to a person itself. It asks a :class:`ToolAsker`: the app answers with
dialogs, ``buddy-tui ask`` with its flags, an agent through its parent. A person answers with an
:class:`Approval` or yes/no; a policy that cannot ask anybody (a non-interactive run) answers with a
:class:`Declined`, which carries the exact words the model and the log are given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from buddy_tui.tools.specs import ToolCall

Decision = Literal["once", "always", "deny"]
Verb = Literal["read", "change"]


@dataclass(frozen=True)
class ChangeRequest:
    """An Edit or Write the model wants to make, as a person sees it before deciding."""

    tool: str
    path: str  # relative to the project
    diff: str
    sensitive: bool  # asked about every time (no "allow for the conversation"): secrets, or protected
    creating: bool = False
    protected: str = ""  # why the path is always asked about ("agent configuration"), "" if it is not
    agent: str = ""  # the agent (its title) that asks, "" for the lead


@dataclass(frozen=True)
class Approval:
    """What the person decided about a change, and why (for a denial)."""

    decision: Decision
    reason: str = ""


@dataclass(frozen=True)
class Declined:
    """A no from a policy rather than a person: what the model is told, and one line for the log."""

    message: str
    summary: str


class ToolAsker(Protocol):
    """The questions the tool runner puts to whoever drives the conversation."""

    async def may_use(self, call: ToolCall) -> Declined | None:
        """Before anything else: None lets the call go on; a :class:`Declined` ends it."""

    async def allow_secrets_file(self, tool: str, path: str, verb: Verb, agent: str = "") -> bool | Declined:
        """May the model (``agent``, its title, when an agent asks) read or change ``path``, a
        file that looks like it holds secrets?"""

    async def approve_change(self, change: ChangeRequest) -> Approval | Declined | None:
        """Approve an Edit or Write. None stops the whole turn (the person pressed Esc)."""
