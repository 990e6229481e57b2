"""A turn as it happens: fed the stream's events, it keeps the record the history stores and says
when the growing reply is due for a checkpoint.

It also decides what the turn leaves in the model's context (``record.recorded``) however it
ends: a finished reply in full; a stopped one with whatever text arrived; after a failure or a
crash, only the tool rounds that ran (their effects on the project are real), closed by a note;
after a refusal, the same: the rounds that ran before it, never the refused message itself (the
API asks for that to leave the context), and nothing at all when no round ran. Every ``tool_use``
it keeps is answered by its ``tool_result`` in the next message, as the API requires. And it
counts the tokens as far as they are known when a reply is stopped or fails (see
:meth:`TurnLog.spent`).

A reply cut at the token limit can go on (:meth:`TurnLog.resume`): the same record grows, and a
continuation that fails or is stopped leaves the reply cut, as it then stands, to go on again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from buddy_tui.conversation.chat import (
    CallsAsked,
    ChatEvent,
    Counted,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    TurnFinished,
    spent_so_far,
    unrun_summary,
)
from buddy_tui.conversation.errors import Failure
from buddy_tui.conversation.events import AgentEnded, AgentStarted, AgentStatus, AgentUpdate
from buddy_tui.store.records import AgentRecord, AgentState, ToolNote, TurnRecord, TurnState, Usage

#: How often (seconds) a growing reply is written to the history while it streams.
CHECKPOINT_SECONDS = 0.25
CRASH_NOTE = "(Interrupted: buddy-tui stopped while this reply was streaming.)"
#: Closes the tool rounds a refused reply leaves in the context (the refused message is left out).
DECLINED_NOTE = "(The rest of this reply was declined and is left out; the tool calls above ran as their results say.)"
#: Under a cut reply whose continuation the user stopped: it is still cut, and can go on again.
STOPPED_GOING_ON = ("Going on was stopped; the reply so far is kept: press Enter on an empty prompt or type "
                    "/continue for the rest.")
#: The result a tool call gets when the person stopped the turn before it finished.
STOPPED_CALL = ("The user stopped the turn before this call finished: it may not have run at all, or only in "
                "part. Check before relying on what it would have done.")
#: A finished call's result kept after a stop is cut to this many characters.
MAX_STOPPED_RESULT = 40_000
#: How a finished reply's stop reason leaves the turn.
ENDINGS: dict[str, TurnState] = {"max_tokens": "cut", "refusal": "refused"}


class TurnLog:
    """The record of the turn being streamed, kept current event by event."""

    def __init__(self, record: TurnRecord, interval: float = CHECKPOINT_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.record = record
        self.rounds: tuple[dict[str, Any], ...] = ()
        self._pieces: list[str] = [record.reply] if record.reply else []
        self._length = len(record.reply)
        self._interval = interval
        self._clock = clock
        self._saved_at = clock()
        self._dirty = False
        #: True when the due write is a text checkpoint only (nothing but the reply's or agents' text changed).
        self.text_only = False
        # A continuation: what the reply had cost, its tool rounds, and its last message (it grows).
        self._before = Usage()
        self._earlier: list[dict[str, Any]] = []
        self._cut: dict[str, Any] | None = None
        self._cut_at = 0
        # The round under way: its counts at message_start and at message_delta, its text so far.
        self._started: Usage | None = None
        self._reported: Usage | None = None
        self._chars = 0
        # The round of tool calls under way (the messages up to the assistant's calls), and the
        # results of those that finished: kept if the turn stops before the round is done.
        self._asked: tuple[dict[str, Any], ...] | None = None
        self._results: dict[str, tuple[str, bool]] = {}
        # Agents' replies as they grow (joined when written), and the tokens of those that ended.
        self._agent_text: dict[str, list[str]] = {}
        # Each agent's round under way: its counts at message_start and message_delta, its text since.
        self._agent_round: dict[str, tuple[Usage | None, Usage | None, int]] = {}
        self._agents_usage = Usage()

    @classmethod
    def resume(cls, record: TurnRecord, interval: float = CHECKPOINT_SECONDS,
               clock: Callable[[], float] = time.monotonic) -> TurnLog:
        """The log of a reply cut at the token limit that goes on: its text, tokens and context
        are where the new part starts (``record.recorded`` must end with the cut message)."""
        log = cls(record, interval, clock)
        log._before, log._earlier, log._cut = record.usage, record.recorded[1:-1], record.recorded[-1]
        log._cut_at = len(record.reply)
        record.state, record.failure = "streaming", ""
        return log

    @property
    def continuing(self) -> bool:
        """True while this is a cut reply going on (until its own tool rounds take over)."""
        return self._cut is not None

    @property
    def question(self) -> dict[str, Any]:
        """The user message of this turn, in the Messages API's shape."""
        return {"role": "user", "content": self.record.user}

    def feed(self, event: ChatEvent) -> bool:
        """Take one event; True when the record should be written now."""
        record = self.record
        # Only text grew (the lead's or an agent's): a cheap checkpoint will do.
        self.text_only = isinstance(event, TextDelta) or (isinstance(event, AgentUpdate)
                                                          and isinstance(event.event, TextDelta))
        if isinstance(event, AgentStarted | AgentUpdate | AgentStatus | AgentEnded):
            return self._agent(event)
        if isinstance(event, TextDelta):
            self._pieces.append(event.text)
            self._length += len(event.text)
            self._chars += len(event.text)
            self._dirty = True
            return self._due()
        if isinstance(event, ToolStarted):
            self._sync()
            record.tools.append(ToolNote(event.call.id, event.call.name, dict(event.call.input),
                                         offset=self._length))
            return self._saved()
        if isinstance(event, ToolFinished):
            record.tools = [ToolNote(n.id, n.name, n.input, event.outcome.summary, event.outcome.is_error, n.offset)
                            if n.id == event.call.id else n for n in record.tools]
            self._results[event.call.id] = (event.outcome.content, event.outcome.is_error)
            return self._saved()
        if isinstance(event, CallsAsked):
            self._asked, self._results = event.messages, {}
            return False
        if isinstance(event, RoundDone):
            self._asked = None
            self.rounds = (*self._earlier, *event.messages)
            self._cut = None  # the continuation's context is in its rounds from now on
            record.recorded = self._closed(CRASH_NOTE)
            return self._saved()
        if isinstance(event, Counted):
            if event.reported:
                self._reported = event.usage
            else:  # a round starts
                self._started, self._reported, self._chars = event.usage, None, 0
            record.usage = self._before + event.usage + self._agents_usage  # provisional until the turn ends
            return False
        if isinstance(event, TurnFinished):
            self._sync()
            self._interrupt_agents()  # none should still run; if one does, it never finished
            record.state = ENDINGS.get(event.stop_reason or "", "complete")
            record.usage = self._before + event.usage + self._agents_usage
            record.failure = event.refusal.text() if event.refusal is not None else ""
            record.tools += [ToolNote(c.id, c.name, dict(c.input), unrun_summary(c), True, self._length)
                             for c in event.unrun]  # shown where the reply stopped: never run
            reply = list(event.messages) or [{"role": "assistant", "content": [{"type": "text", "text": event.text}]}]
            record.recorded = self._declined() if event.refusal is not None else [self.question, *self._earlier,
                                                                                    *reply]
            self._cut = None
            return self._saved()
        if isinstance(event, TurnFailed):
            self.fail(event.failure)
            record.usage = self._before + event.usage + self._agents_usage
            return self._saved()
        return False  # e.g. a retry notice: nothing to keep

    def spent(self) -> Usage:
        """The turn's tokens as far as known now: counted by the API up to the last round that
        reported them, and for the round under way its input and its output estimated from the
        text that arrived (marked as an estimate); agents' as far as they got, likewise."""
        running = Usage()
        for agent in self.record.agents:
            if agent.state in ("queued", "running"):
                running = running + self._agent_spent(agent)
        return self._before + spent_so_far(self._started, self._reported, self._chars) + self._agents_usage + running

    def _agent(self, event: AgentStarted | AgentUpdate | AgentStatus | AgentEnded) -> bool:
        """Keep an agent's transcript in the record: who ran, its text and tool calls, how it ended."""
        record = self.record
        if isinstance(event, AgentStarted):
            found = record.agent(event.agent_id)
            state: AgentState = "queued" if event.queued else "running"
            if found is None:
                record.agents.append(AgentRecord(event.agent_id, event.name, event.title, event.color,
                                                 event.description, event.prompt, event.model, state=state))
            else:
                found.state = state
            return self._saved()
        agent = record.agent(event.agent_id)
        if agent is None or isinstance(event, AgentStatus):
            return False
        inner = event.event if isinstance(event, AgentUpdate) else None
        if isinstance(inner, TextDelta):
            self._agent_text.setdefault(agent.id, [agent.reply]).append(inner.text)
            started, reported, chars = self._agent_round.get(agent.id, (None, None, 0))
            self._agent_round[agent.id] = (started, reported, chars + len(inner.text))
            self._dirty = True
            return self._due()
        self._sync_agent(agent)
        if isinstance(inner, ToolStarted):
            agent.tools.append(ToolNote(inner.call.id, inner.call.name, dict(inner.call.input),
                                        offset=len(agent.reply)))
            return self._saved()
        if isinstance(inner, ToolFinished):
            agent.tools = [ToolNote(n.id, n.name, n.input, inner.outcome.summary, inner.outcome.is_error, n.offset)
                           if n.id == inner.call.id else n for n in agent.tools]
            return self._saved()
        if isinstance(inner, Counted):
            started, _, chars = self._agent_round.get(agent.id, (None, None, 0))
            self._agent_round[agent.id] = (started, inner.usage, chars) if inner.reported else (inner.usage, None, 0)
            agent.usage = inner.usage
            return False
        if isinstance(event, AgentEnded):
            agent.state, agent.why, agent.usage, agent.seconds = event.outcome, event.why, event.usage, event.seconds
            agent.reply = event.text
            self._agents_usage = self._agents_usage + event.usage
            record.usage = record.usage + event.usage
            return self._saved()
        return False

    def _agent_spent(self, agent: AgentRecord) -> Usage:
        """A running agent's tokens as far as known: as :meth:`spent` counts the lead's."""
        started, reported, chars = self._agent_round.get(agent.id, (None, None, 0))
        return spent_so_far(started, reported, chars) if started or reported else agent.usage

    def _sync_agent(self, agent: AgentRecord) -> None:
        pieces = self._agent_text.pop(agent.id, None)
        if pieces is not None:
            agent.reply = "".join(pieces)

    def _interrupt_agents(self) -> None:
        """The turn ended while agents still ran (Esc, a failure, a crash): they were interrupted."""
        for agent in self.record.agents:
            self._sync_agent(agent)
            if agent.state in ("queued", "running"):
                agent.state, agent.usage = "interrupted", self._agent_spent(agent)

    def fail(self, failure: Failure) -> None:
        """The model call failed: keep the partial reply and the tool rounds that ran. A cut
        reply that failed to go on stays cut, with what arrived meanwhile, to try again."""
        self._sync()
        self._interrupt_agents()
        self.record.failure = failure.text()
        if self._cut is not None:
            self.record.state = "cut"
            self.record.recorded = self._continued()
            return
        self.record.state = "failed"
        self.record.recorded = self._closed(f"(This reply failed: {failure.title})")

    def stop(self) -> None:
        """The user stopped the reply: keep the rounds that ran, else whatever text arrived; its
        tokens as far as known. A cut reply stopped while it went on stays cut, with the text that
        arrived meanwhile, to go on again (as after a failure)."""
        self._sync()
        self.record.usage = self.spent()
        self._interrupt_agents()
        if self._cut is not None:
            self.record.state, self.record.failure = "cut", STOPPED_GOING_ON
            self.record.recorded = self._continued()
            return
        self.record.state = "stopped"
        if self._asked is not None:  # stopped while tools ran: what finished stays done
            self.rounds = (*self._earlier, *self._asked, self._stopped_results())
            self._asked = None
        if self.rounds:
            self.record.recorded = self._closed("(Stopped by the user.)")
        elif self.record.reply:
            self.record.recorded = [self.question,
                                    {"role": "assistant", "content": [{"type": "text", "text": self.record.reply}]}]
        else:
            self.record.recorded = []

    def _stopped_results(self) -> dict[str, Any]:
        """The tool results of a round the person stopped: those that finished as they came back,
        the others an error saying they were stopped (every call must be answered)."""
        asked = self._asked[-1]["content"] if self._asked else []
        results = []
        for block in asked:
            if block.get("type") != "tool_use":
                continue
            content, failed = self._results.get(block["id"], (STOPPED_CALL, True))
            if len(content) > MAX_STOPPED_RESULT:
                content = content[:MAX_STOPPED_RESULT] + "\n(… the rest of this result is left out.)"
            results.append({"type": "tool_result", "tool_use_id": block["id"], "content": content, "is_error": failed})
        return {"role": "user", "content": results}

    def _continued(self) -> list[dict[str, Any]]:
        """The question, the tool rounds before the cut, and the cut message with the text that
        came after it."""
        assert self._cut is not None
        blocks = list(self._cut["content"])
        blocks[-1] = {**blocks[-1], "text": blocks[-1]["text"] + self.record.reply[self._cut_at:]}
        return [self.question, *self._earlier, {**self._cut, "content": blocks}]

    def _declined(self) -> list[dict[str, Any]]:
        """What a refused reply leaves in the context: the tool rounds that ran before the refusal
        (their effects on the project are real), or the cut reply it was to continue, as it stood;
        never the refused message."""
        if self.rounds:
            return self._closed(DECLINED_NOTE)
        if self._cut is not None:
            return [self.question, *self._earlier, self._cut]
        return []

    def _closed(self, note: str) -> list[dict[str, Any]]:
        """The question and the completed tool rounds, closed by an assistant note; [] without rounds."""
        if not self.rounds:
            return []
        return [self.question, *self.rounds, {"role": "assistant", "content": [{"type": "text", "text": note}]}]

    def _sync(self) -> None:
        if self._dirty:
            self.record.reply = "".join(self._pieces)
            self._pieces = [self.record.reply]
            for agent in self.record.agents:
                if agent.id in self._agent_text:
                    self._sync_agent(agent)
            self._dirty = False

    def _due(self) -> bool:
        if self._clock() - self._saved_at < self._interval:
            return False
        self._sync()
        return self._saved()

    def _saved(self) -> bool:
        self._saved_at = self._clock()
        return True

    def pending(self) -> bool:
        """True when text arrived since the last write and is due (for a timer while the stream
        pauses: what came before a pause must not wait for the next fragment to be saved)."""
        if not self._dirty or self._clock() - self._saved_at < self._interval:
            return False
        self.text_only = True
        self._sync()
        return self._saved()

    def snapshot(self) -> TurnRecord:
        """The record with the reply text brought up to date (for a final write)."""
        self._sync()
        return self.record
