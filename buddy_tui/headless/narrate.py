"""What ``buddy-tui ask`` makes of the engine's stream: the lead's reply on stdout, tool outcomes and
agents on stderr, everything as events with ``--format json``.

Agents (the Task tool) run inside the lead's turn; their events arrive tagged with the id of the
Task call that launched them. Each gets one stderr line when it starts and one when it ends
(``▸ agent security (Check auth paths) started · claude-…``, ``▸ agent security done in 12 s ·
in 3.1k out 640``), and a line for each of its tool calls, named by the agent. An agent's text is
not the answer, so it never reaches stdout in the text and markdown formats: its final text is
the Task result, which the lead's answer draws on; json shows it as ``agent_delta`` events, apart
from the lead's ``delta`` events (whose texts still join into the final text). Every text from
the model or a file reaches stderr through the :class:`~buddy_tui.headless.output.Reporter`, one
line each with control characters made visible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from buddy_tui.conversation.events import (
    AgentEnded,
    AgentStarted,
    AgentStatus,
    AgentUpdate,
    Counted,
    Retrying,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
)
from buddy_tui.headless.output import Output, Reporter
from buddy_tui.store.records import Usage
from buddy_tui.store.wording import agent_outcome

if TYPE_CHECKING:
    from buddy_tui.tools.workspace import ProposedChange

#: Starts the stderr lines that say an agent started or ended.
AGENT_MARK = "▸ agent"


def tokens_text(count: int) -> str:
    """A token count in a few characters: ``640``, ``3.1k``, ``31k``, ``1.2M``."""
    if count < 1000:
        return str(max(0, count))
    if count < 10_000:
        return f"{count / 1000:.1f}k"
    if count < 999_500:
        return f"{round(count / 1000)}k"
    return f"{count / 1_000_000:.1f}M"


class Narrator:
    """Takes the engine's stream events one by one and writes them out (see the module's text).
    ``changes`` finds the file change a tool call made (None when it made none), so each one is
    named on stderr even when quiet."""

    def __init__(self, out: Output, reporter: Reporter,
                 changes: Callable[[str], ProposedChange | None] = lambda call_id: None) -> None:
        self.out = out
        self.reporter = reporter
        self.changes = changes
        self.agents: dict[str, AgentStarted] = {}  # by agent id: who each running agent is
        self._told: set[str] = set()  # Task calls whose agent's end has its own line already
        self._separate = self._wrote = False
        # The turn's tokens as told: the lead's as last counted, and those of the agents that ended.
        self._lead = self._ended = Usage()

    def take(self, event: object) -> bool:
        """Write out one event; False for an event this class leaves to the caller (the turn's
        start and end, notices)."""
        if isinstance(event, TextDelta):
            self.out.delta(("\n\n" if self._separate else "") + event.text)  # as TurnFinished.text has it
            self._separate, self._wrote = False, True
        elif isinstance(event, RoundDone):
            self._separate, self._wrote = self._separate or self._wrote, False
        elif isinstance(event, Counted):
            self._lead = event.usage
            self.out.usage(self._lead + self._ended)
        elif isinstance(event, ToolStarted):
            self.out.tool_call(event.call)
        elif isinstance(event, ToolFinished):
            self._tool_finished(event, None)
        elif isinstance(event, AgentStarted):
            self._agent_started(event)
        elif isinstance(event, AgentUpdate):
            self._agent_update(event)
        elif isinstance(event, AgentEnded):
            self._agent_ended(event)
        elif not isinstance(event, AgentStatus):  # waiting for approval: nobody is asked here, it passes
            return False
        return True

    def _tool_finished(self, event: ToolFinished, agent: AgentStarted | None) -> None:
        whose = f"agent {agent.name}: " if agent is not None else ""
        if event.call.id not in self._told:  # a Task whose agent ran was told by its end line
            self.reporter.progress(whose + (event.outcome.summary or event.call.name))
        if (change := self.changes(event.call.id)) is not None:
            by = f" (by agent {agent.name})" if agent is not None else ""
            self.reporter.problem(f"{'created' if change.old_text is None else 'edited'} {change.path}{by}")
        self.out.tool_result(event.call, event.outcome, agent)

    def _agent_started(self, event: AgentStarted) -> None:
        self.agents[event.agent_id] = event
        if event.queued:  # it waits for a free place; its line comes when it starts
            return
        about = f" ({event.description})" if event.description.strip() else ""
        self.out.agent_started(event)
        self.reporter.progress(f"{AGENT_MARK} {event.name}{about} started · {event.model}")

    def _agent_update(self, update: AgentUpdate) -> None:
        agent = self._agent(update.agent_id)
        event = update.event
        if isinstance(event, TextDelta):
            self.out.agent_delta(agent, event.text)
        elif isinstance(event, ToolStarted):
            self.out.tool_call(event.call, agent)
        elif isinstance(event, ToolFinished):
            self._tool_finished(event, agent)
        elif isinstance(event, Retrying):
            self.reporter.progress(f"agent {agent.name}: {event.notice.describe()}")
            self.out.retry(event.notice, agent)
        # Counted: an agent's tokens are told when it ends (and from then on are in the turn's usage).

    def _agent_ended(self, event: AgentEnded) -> None:
        agent = self.agents.pop(event.agent_id, None) or _unknown(event.agent_id)
        self._told.add(event.agent_id)
        usage = event.usage
        spent = (f" · in {tokens_text(usage.input_tokens)} out {'~' if usage.estimated else ''}"
                 f"{tokens_text(usage.output_tokens)}")
        self.out.agent_ended(agent, event)
        self._ended = self._ended + usage
        self.out.usage(self._lead + self._ended)  # the turn's total, as its final usage will have it
        line = f"{AGENT_MARK} {agent.name} {agent_outcome(event.outcome, event.seconds, event.why)}{spent}"
        if event.outcome == "done":
            self.reporter.progress(line)
        else:  # a failed, capped or stopped agent is a problem worth seeing even with -q
            self.reporter.problem(line)

    def _agent(self, agent_id: str) -> AgentStarted:
        """The agent ``agent_id`` names (one never announced is named by its id, not dropped)."""
        return self.agents.setdefault(agent_id, _unknown(agent_id))


def _unknown(agent_id: str) -> AgentStarted:
    """Stands for an agent whose start was never seen (the engine always sends it first)."""
    return AgentStarted(agent_id, agent_id, agent_id, "", "", "", "", ())
