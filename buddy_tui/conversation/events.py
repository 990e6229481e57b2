"""Every event the engine yields while a turn streams: the reply's text, tool calls, token
counts, retries, the turn's end, and what agents launched by the Task tool do.

An agent is a conversation of its own, run by the same engine as the lead while the lead waits
for its Task result. Its events travel inside the lead's stream, tagged with ``agent_id`` (the
id of the Task call that launched it), so a view can draw each agent in its own panel under the
lead's tool line, ``ask`` can print a line when one starts and ends, and the turn log can store
its transcript with the turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from buddy_tui.conversation.errors import Failure
from buddy_tui.conversation.retries import RetryNotice
from buddy_tui.store.records import Usage
from buddy_tui.tools.specs import ToolCall, ToolResult


@dataclass(frozen=True)
class TextDelta:
    """A fragment of the reply, in order."""

    text: str


@dataclass(frozen=True)
class TurnFinished:
    """The reply is complete: ``stop_reason`` says how it ended (``max_tokens``: cut at the token
    limit; ``refusal``: the model declined, and ``refusal`` says so in words for the person).
    ``unrun``: tool calls its last message asked for that were never run (the token limit cut the
    reply in the middle of them); they are left out of ``messages``, as every ``tool_use`` sent to
    the API must be answered by a ``tool_result``."""

    text: str
    stop_reason: str | None
    usage: Usage
    messages: tuple[dict[str, Any], ...] = ()  # what the turn adds after the question
    refusal: Failure | None = None
    unrun: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class ToolStarted:
    """A tool call is about to run (after any approval)."""

    call: ToolCall
    round: int
    max_rounds: int


@dataclass(frozen=True)
class ToolFinished:
    """A tool call ran (or was refused)."""

    call: ToolCall
    outcome: ToolResult


@dataclass(frozen=True)
class TurnFailed:
    """The call failed; ``partial`` is whatever text had arrived before it did, ``usage`` the
    tokens already counted (finished rounds, and the failed round's if its stream had begun)."""

    failure: Failure
    partial: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class Retrying:
    """An attempt to open the stream failed; it is made again after about ``notice.wait`` seconds."""

    notice: RetryNotice


@dataclass(frozen=True)
class RoundDone:
    """A tool round is complete: every message the turn has added so far (ending with the tool
    results), so a stop or failure later still leaves the conversation knowing what was done."""

    messages: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CallsAsked:
    """The model asked for tool calls, which run next: every message the turn has added so far,
    ending with the assistant message that asks for them. A stop before the round is done keeps
    the calls that finished (an agent can take minutes; its work must not be lost)."""

    messages: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Counted:
    """The tokens counted so far in this turn, so a reply stopped or cut part-way still shows what
    it cost. Each round's input arrives as its stream starts (``reported`` False: its output is
    not counted yet); its output count with the ``message_delta`` near its end (``reported``)."""

    usage: Usage
    reported: bool = False


#: How an agent run ended: ``done`` (its final text is the Task result), ``failed`` (the model
#: call failed), ``capped`` (it used up its tool rounds), ``stopped`` (the person pressed Esc).
AgentOutcome = Literal["done", "failed", "capped", "stopped"]


@dataclass(frozen=True)
class AgentStarted:
    """A Task call launched an agent (or queued it, when ``queued``: more are running than allowed
    at once; a second AgentStarted with ``queued`` False follows when it starts)."""

    agent_id: str  # the Task call's id
    name: str  # the agent as the catalog knows it (subagent_type)
    title: str  # its display name
    color: str  # the front matter's colour ("" when none)
    description: str  # the Task's few words
    prompt: str  # the Task's prompt: the agent's first user message
    model: str
    tools: tuple[str, ...]
    queued: bool = False


@dataclass(frozen=True)
class AgentUpdate:
    """Something from an agent's own stream: its text, its tool calls, its token counts, retries."""

    agent_id: str
    event: TextDelta | ToolStarted | ToolFinished | Counted | Retrying


@dataclass(frozen=True)
class AgentStatus:
    """An agent is waiting for something other than the model: ``waiting for approval``, or
    ``running`` again once the person answered."""

    agent_id: str
    status: str


@dataclass(frozen=True)
class AgentEnded:
    """An agent run is over: how, its text (whole, or as far as it got), what it cost and took."""

    agent_id: str
    outcome: AgentOutcome
    text: str
    usage: Usage
    seconds: float
    why: str = ""  # for failed, capped or stopped: what happened, in words



AgentEvent = AgentStarted | AgentUpdate | AgentStatus | AgentEnded
ChatEvent = (TextDelta | Retrying | Counted | ToolStarted | ToolFinished | CallsAsked | RoundDone | TurnFinished
             | TurnFailed | AgentEvent)
