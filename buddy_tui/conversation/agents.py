"""The Task tool: run an agent as a conversation of its own and hand its final text back.

An agent is a persona from the catalog (a project's or the user's ``.claude/agents``, a bundled
expert, a skill persona) run by the same streaming code as the lead: its system prompt is its
file's body plus the project memory, its first user message the Task prompt, its tools those its
file lists (without the key: the lead's), its model as its ``model:`` says. Agents never launch
agents. Its events go to the round's :class:`SideEvents`, tagged with the Task call's id, and the
Task result is its final text, or an error result saying what happened with the text so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, cast

from buddy_tui.conversation.chat import (
    NO_ANSWER,
    ChatEvent,
    Conversation,
    Counted,
    Retrying,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
    build_request,
    stream_turn,
)
from buddy_tui.conversation.errors import Failure
from buddy_tui.conversation.events import AgentEnded, AgentOutcome, AgentStarted, AgentStatus, AgentUpdate
from buddy_tui.conversation.rounds import SideEvents, run_calls
from buddy_tui.personas.persona import Persona
from buddy_tui.personas.roster import agent_model, find_agent
from buddy_tui.store.records import Usage
from buddy_tui.tools.specs import CONCURRENT, TOOL_NAMES, ToolCall, ToolResult, tool_definitions

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.context.budget import RoundLimits
    from buddy_tui.conversation.session import Session
    from buddy_tui.tools.runner import ToolRunner

#: How many model round trips one agent may take.
MAX_AGENT_ROUNDS = 12
@dataclass(frozen=True)
class _Run:
    """One agent run, as set up from a Task call."""

    call: ToolCall
    persona: Persona
    description: str
    prompt: str
    model: str
    tools: tuple[str, ...]


class Agents:
    """Runs the Task calls of one turn: at most ``limit`` agents at once, the rest queued."""

    def __init__(self, session: Session, client: AsyncAnthropic, runner: ToolRunner, side: SideEvents, *,
                 lead_model: str, lead_tools: Sequence[str], limit: int, limits: RoundLimits | None = None,
                 max_rounds: int = MAX_AGENT_ROUNDS) -> None:
        self.session, self.client, self.runner, self.side = session, client, runner, side
        self.lead_model, self.lead_tools = lead_model, tuple(lead_tools)
        self.limits, self.max_rounds = limits, max_rounds
        self._slots = asyncio.Semaphore(max(1, limit))
        #: Why each agent that did not finish failed, by Task call id (the model call's failure, if one).
        self.failures: dict[str, Failure] = {}

    def prepare(self, call: ToolCall) -> _Run | ToolResult:
        """The run a Task call asks for, or the error result its bad input gets."""
        personas = self.session.personas
        names = ", ".join(name for name, _ in self.session.agent_roster()) or "none"
        kind = call.input.get("subagent_type")
        prompt = call.input.get("prompt")
        description = call.input.get("description")
        if not isinstance(kind, str) or not kind.strip():
            return ToolResult(f"Task needs a subagent_type: one of {names}.", True, "Task refused: no subagent_type")
        persona = find_agent(kind, personas)
        if persona is None:
            return ToolResult(f"There is no agent called '{kind}'. The agents you can launch are: {names}.", True,
                              f"Task refused: no agent called {kind[:60]}")
        if not isinstance(prompt, str) or not prompt.strip():
            return ToolResult(f"Task needs a prompt: the work for the {persona.name} agent, complete and "
                              "self-contained (it sees nothing of this conversation).", True,
                              "Task refused: empty prompt")
        if persona.tools_declared:
            tools = tuple(t for t in TOOL_NAMES if t in persona.allowed_tools and t != "Task")
        else:
            tools = tuple(t for t in self.lead_tools if t != "Task")
        model, _problem = agent_model(persona.model, self.lead_model)
        about = description.strip() if isinstance(description, str) and description.strip() else prompt.strip()
        return _Run(call, persona, " ".join(about.split())[:120], prompt, model, tools)

    async def run(self, call: ToolCall, user: Sequence[dict[str, object]] | None = None) -> ToolResult:
        """Carry out one Task call; never raises (but for cancelling). ``user``: the first user
        message's content blocks when they are more than the prompt (``/consult`` with files)."""
        prepared = self.prepare(call)
        if isinstance(prepared, ToolResult):
            return prepared
        started = AgentStarted(call.id, prepared.persona.name, prepared.persona.title, prepared.persona.color,
                               prepared.description, prepared.prompt, prepared.model, prepared.tools)
        if self._slots.locked():  # every place is taken: it waits, and says so
            self.side.emit(replace(started, queued=True))
        async with self._slots:
            self.side.emit(started)
            return await self._converse(prepared, user)

    async def consult(self, name: str, prompt: str, request: dict[str, Any]) -> AsyncIterator[ChatEvent]:
        """``/consult``: agent ``name`` answers the question itself, with the attached files (the
        content of ``request``'s last user message), in its own panel; its answer is what the turn
        leaves in the conversation, for the lead to see later."""
        last = request["messages"][-1]["content"]
        user = [{k: v for k, v in block.items() if k != "cache_control"} for block in last]
        call = ToolCall(f"consult_{id(request):x}", "Task",
                        {"subagent_type": name, "prompt": prompt, "description": "asked directly"})
        outcomes: list[ToolResult] = []

        async def ask(task: ToolCall) -> ToolResult:
            return await self.run(task, user)

        async for event in run_calls([call], ask, outcomes, round_number=1, max_rounds=1, side=self.side):
            if not isinstance(event, ToolStarted | ToolFinished):
                yield event
        answer = outcomes[0] if outcomes else ToolResult("The agent gave no answer.", True)
        if answer.is_error:  # the turn failed, so it can be tried again; the panel shows what arrived
            failure = self.failures.get(call.id) or Failure("unexpected", answer.content.split("\n\n")[0])
            yield TurnFailed(failure, "", Usage())
            return
        said = {"role": "assistant", "content": [{"type": "text", "text": answer.content}]}
        yield TurnFinished("", "end_turn", Usage(), (said,))

    async def _converse(self, run: _Run, user: Sequence[dict[str, object]] | None) -> ToolResult:
        """Stream the agent's conversation, passing its events on; its result for the lead."""
        agent_id, title = run.call.id, run.persona.title
        first = [dict(block) for block in user] if user else [{"type": "text", "text": run.prompt}]

        async def execute(call: ToolCall) -> ToolResult:
            return await self.runner.execute(call, run.tools, title, agent=title, on_ask=asking)

        def asking(waiting: bool) -> None:
            self.side.emit(AgentStatus(agent_id, "waiting for approval" if waiting else "running"))

        def retrying(event: Retrying) -> None:
            self.side.emit(AgentUpdate(agent_id, event))

        began = time.monotonic()
        pieces: list[str] = []
        usage = Usage()
        ending: tuple[AgentOutcome, str] = ("failed", "the agent's stream ended without a reply")
        final = ""  # the text of its last message: what the lead gets back
        changed: list[str] = []  # files its calls changed, for the lead to know
        gap = False  # a tool round ended after some text: the next text starts a new paragraph
        try:
            request = build_request(persona=run.persona, conversation=Conversation(), user=first, model=run.model,
                                    max_tokens=self.session.settings.max_tokens, memory=self.session.memory,
                                    tools=tool_definitions(run.tools))
            events = stream_turn(self.client, request, execute if run.tools else None, self.max_rounds,
                                 on_retry=retrying, limits=self.limits, parallel=lambda c: c.name in CONCURRENT)
            async with contextlib.aclosing(cast(AsyncGenerator[ChatEvent, None], events)):
                async for event in events:
                    if isinstance(event, RoundDone):
                        gap = bool(pieces)
                    elif isinstance(event, TextDelta | ToolStarted | ToolFinished | Counted):
                        if isinstance(event, TextDelta):
                            if gap:
                                event, gap = TextDelta("\n\n" + event.text), False
                            pieces.append(event.text)
                        elif isinstance(event, ToolFinished) and (change := self.runner.changes.get(event.call.id)):
                            changed.append(change.path)
                        elif isinstance(event, Counted):
                            usage = event.usage
                        self.side.emit(AgentUpdate(agent_id, event))
                    elif isinstance(event, TurnFinished):
                        usage, ending, final = event.usage, _finished(event, self.max_rounds), _last_text(event)
                    elif isinstance(event, TurnFailed):
                        usage, ending = event.usage, ("failed", event.failure.title)
                        self.failures[agent_id] = event.failure
        except Exception as exc:  # a bug here must end this agent, not the lead's turn
            ending = ("failed", f"{type(exc).__name__}: {exc}")
        text = "".join(pieces)
        seconds = time.monotonic() - began
        outcome, why = ending
        self.side.emit(AgentEnded(agent_id, outcome, text, usage, seconds, why))
        result = _result(run, outcome, why, final if outcome == "done" else text, usage, seconds)
        if changed:
            listed = ", ".join(dict.fromkeys(changed))
            note = f"(Files the {run.persona.name} agent changed: {listed}.)"
            result = replace(result, content=f"{result.content}\n\n{note}")
        return result


def _last_text(event: TurnFinished) -> str:
    """The text of the agent's last message (its answer, without what it said on the way there)."""
    for message in reversed(event.messages):  # the last that said something (not a stand-in)
        blocks = message.get("content") if message.get("role") == "assistant" else None
        found = [str(b.get("text", "")) for b in blocks or [] if isinstance(b, dict) and b.get("type") == "text"]
        said = "\n\n".join(t for t in found if t.strip() and t != NO_ANSWER)
        if said:
            return said
    return event.text


def _finished(event: TurnFinished, max_rounds: int) -> tuple[AgentOutcome, str]:
    """How a finished agent stream counts: done, or capped when it ran out of rounds or room."""
    if event.refusal is not None:
        return "failed", event.refusal.title
    if event.stop_reason == "max_rounds":
        return "capped", f"it asked for more tools after {max_rounds} rounds"
    if event.stop_reason == "over_budget":
        return "capped", "its tool results outgrew the model's context"
    if event.stop_reason == "max_tokens":
        return "capped", "its reply reached the output token limit"
    return "done", ""


def _result(run: _Run, outcome: AgentOutcome, why: str, text: str, usage: Usage, seconds: float) -> ToolResult:
    """The Task result the lead gets: the agent's final text, or what went wrong and what it wrote."""
    name, spent = run.persona.name, f"{seconds:.0f} s · {usage.summary()}"
    if outcome == "done":
        return ToolResult(text.strip() or f"(The {name} agent finished without writing anything.)", False,
                          f"{name} agent done in {spent}")
    so_far = f"\n\nWhat it had written so far:\n\n{text.strip()}" if text.strip() else " It had written nothing."
    verb = {"failed": "failed", "capped": "was stopped", "stopped": "was stopped"}[outcome]
    return ToolResult(f"The {name} agent {verb}: {why}.{so_far}", True, f"{name} agent {outcome}: {why}")
