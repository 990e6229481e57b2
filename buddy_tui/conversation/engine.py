"""The conversation engine: one turn, from what was typed to the stored result.

A turn goes: the plan (:meth:`Session.interpret`) → context (files named in the question, secret
scan, the context budget) → committed to the history before anything is sent → streamed, with
the model's tool calls run by the :class:`ToolRunner` → finished, failed or stopped → stored.
:meth:`Engine.run` walks that path and yields typed events; it never imports Textual and asks a
person only through the :class:`Asker` its driver passed in. The app renders the events, ``ask``
prints them, and an agent will hand them to its parent: the decisions live here, once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, cast

from buddy_tui.context.attachments import Attachment, ContextError, load_attachment, looks_secret
from buddy_tui.context.folder import describe_path
from buddy_tui.conversation.asker import Asker
from buddy_tui.conversation.chat import (
    ChatEvent,
    Retrying,
    TurnFailed,
    TurnFinished,
    stream_turn,
    unrun_note,
)
from buddy_tui.conversation.rounds import SideEvents
from buddy_tui.conversation.session import Interpretation, Session, TurnPlan
from buddy_tui.conversation.turnlog import CHECKPOINT_SECONDS, TurnLog
from buddy_tui.store.records import StoredConversation, TurnRecord
from buddy_tui.tools.runner import ToolRunner
from buddy_tui.tools.specs import CONCURRENT, TOOL_NAMES, ToolCall, ToolResult

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.context.budget import Budget
    from buddy_tui.personas.persona import Persona
    from buddy_tui.tools.workspace import ProposedChange

NoteKind = Literal["info", "warning", "error"]
#: After "send the head", the largest file is shortened again this many times at most to fit.
SHORTEN_ROUNDS = 5


@dataclass(frozen=True)
class Question:
    """What the person sends: the plan, the files attached beforehand (chips in the app, ``-f``
    and standard input in ``ask``), and, for a retry, the earlier try whose content goes again;
    or, with ``continues``, a request for the rest of that reply, cut at the token limit."""

    plan: TurnPlan
    chips: tuple[Attachment, ...] = ()
    resend: TurnRecord | None = None
    continues: TurnRecord | None = None


@dataclass(frozen=True)
class Notice:
    """Something the person should read (a file that could not be attached, a choice carried out)."""

    text: str
    kind: NoteKind = "info"


@dataclass(frozen=True)
class Abandoned:
    """The question was not sent and goes back to the person: cancelled at a question (no
    ``reason``), or impossible (``reason`` says why). ``budget`` is set when it was too big."""

    question: Question
    reason: str = ""
    kind: NoteKind = "error"
    budget: Budget | None = None


@dataclass(frozen=True)
class TurnStarted:
    """The turn is stored and about to stream: the record, the files that went, and why this
    persona answers when it was chosen for the question."""

    question: Question
    record: TurnRecord
    attachments: tuple[Attachment, ...]
    why: str = ""


@dataclass(frozen=True)
class TurnContinued:
    """A reply cut at the token limit goes on: what arrives next is added to ``record``'s reply
    (the same message, not a new one)."""

    question: Question
    record: TurnRecord


EngineEvent = Notice | Abandoned | TurnStarted | TurnContinued | ChatEvent
#: Said when a cut reply could not go on: what arrived is kept, and it can be tried again.
CONTINUE_AGAIN = "The reply so far is kept; press Enter on an empty prompt or type /continue to try again."


@dataclass(frozen=True)
class Recovery:
    """What to bring back when a project opens: conversations a crash cut, else the latest."""

    crashed: list[int] = field(default_factory=list)
    latest: int | None = None

    @property
    def message(self) -> str:
        """What to tell the person when a crash cut conversations."""
        others = len(self.crashed) - 1
        more = f" {others} other conversation(s) were cut the same way; /resume lists them." if others else ""
        return ("buddy-tui stopped while a reply was streaming; this conversation is back with the part that "
                f"arrived. Ctrl+R or /retry sends the question again.{more}")


@dataclass
class _Active:
    question: Question
    log: TurnLog


class Engine:
    """Runs the turns of one session, one at a time."""

    def __init__(self, session: Session, asker: Asker, client: AsyncAnthropic | None = None, *,
                 batch: bool = False) -> None:
        """``batch`` joins text deltas that arrive close together (a few updates a second), for a
        screen; a pipe gets every delta as it comes."""
        self.session = session
        self.asker = asker
        self.client = client
        self.batch = batch
        self.runner = ToolRunner(session.root, session.rules, asker, keep=session.config.remember_tool_permissions)
        #: The last question that got no full answer, for /retry.
        self.unsent: TurnRecord | None = None
        self._active: _Active | None = None
        #: The note telling the model that the last reply's cut tool calls never ran (see _stream),
        #: taken back when that reply goes on instead.
        self._unrun_note = ""

    @property
    def busy(self) -> bool:
        """True from the moment a turn is stored until it ends."""
        return self._active is not None

    def interpret(self, typed: str, attached: list[str], override: Persona | None = None) -> Interpretation:
        """What ``typed`` means: an app command, a refusal, or a plan for a turn."""
        return self.session.interpret(typed, attached, override)

    # ------------------------------------------------------------------ a turn
    async def run(self, question: Question, *,
                  on_retry: Callable[[Retrying], None] | None = None) -> AsyncGenerator[EngineEvent, None]:
        """Carry ``question`` through to its stored end, yielding what happens on the way.

        Exactly one of :class:`Abandoned` or :class:`TurnStarted` comes; after TurnStarted the
        stream's events follow, ending with TurnFinished or TurnFailed, unless the turn is
        stopped (:meth:`stop`, or cancelling the task that iterates). Retries are announced to
        ``on_retry`` while the request waits, since nothing can be yielded then.
        """
        assert self._active is None, "one turn at a time"
        if question.continues is not None:
            async for event in self._continue(question, question.continues, on_retry):
                yield event
            return
        root = self.session.root
        attachments = list(question.chips)
        secret = [p for p in question.plan.mentions if await asyncio.to_thread(looks_secret, p, root)]
        if secret:
            answer = await self.asker.send_secrets_files([describe_path(p, root) for p in secret])
            if answer is None:
                yield Abandoned(question)
                return
            if answer == "yes":
                secret = []
        for path in question.plan.mentions:
            if path in secret:
                continue
            try:
                attachment = await asyncio.to_thread(load_attachment, path, root)
            except ContextError as exc:
                yield Notice(f"Not attached: {exc}", "warning")
                continue
            if all(a.key != attachment.key for a in attachments):
                attachments.append(attachment)
        if attachments:
            from buddy_tui.context.secrets import redact_attachments, scan_attachments  # loaded when first needed

            if findings := await asyncio.to_thread(scan_attachments, attachments):
                choice = await self.asker.send_secret_values(findings)
                if choice is None:
                    yield Abandoned(question)
                    return
                if choice == "redact":
                    attachments = redact_attachments(attachments, findings)
        async for event in self._within_budget(question, attachments, on_retry):
            yield event

    async def _within_budget(self, question: Question, attachments: list[Attachment],
                             on_retry: Callable[[Retrying], None] | None) -> AsyncGenerator[EngineEvent, None]:
        """Send unless the request is bigger than the context window; then ask what to cut. Once
        the person chose "send the head", keep shortening (a few rounds) until it fits."""
        from buddy_tui.context import budget

        asked, plan, rounds = question, question.plan, 0  # an abandoned question goes back as it was asked
        while True:
            resend = question.resend
            user, request = self.session.request(plan, attachments, resend.user if resend else None)
            measured = await budget.measure(self.client, request, budget.context_window())
            if not measured.over_by:
                break
            if not attachments:
                yield Abandoned(asked, f"The conversation no longer fits the model's context "
                                          f"({measured.describe()}). /clear starts a new one.", budget=measured)
                return
            choice = "head" if 0 < rounds < SHORTEN_ROUNDS else await self.asker.over_budget(measured, attachments)
            if choice is None:
                yield Abandoned(asked, budget=measured)
                return
            question = replace(question, resend=None)  # what goes out is built afresh from now on
            if choice == "drop":
                yield Notice("Sent without the attached files, which did not fit.", "warning")
                question, attachments, rounds = replace(question, chips=()), [], 0
                continue
            try:
                attachments = budget.shorten_largest(attachments, measured.over_by)
            except ValueError as exc:
                yield Abandoned(asked, f"Cannot shorten enough: {exc}. Drop files instead, or /clear.", "warning")
                return
            rounds += 1
        self.session.commit(plan)
        log = self.session.begin_turn(plan, user, attachments, resend.files if resend else None)  # before it leaves
        self._active = _Active(question, log)
        why = plan.choice.match.explain() if plan.choice and plan.choice.switched and plan.choice.match else ""
        yield TurnStarted(question, log.record, tuple(attachments), why)
        async for event in self._stream(log, request, plan, on_retry):
            yield event

    async def _continue(self, question: Question, record: TurnRecord,
                        on_retry: Callable[[Retrying], None] | None) -> AsyncGenerator[EngineEvent, None]:
        """Ask for the rest of a reply cut at the token limit: the same record grows."""
        before = record.reply
        if self._unrun_note in self.session.notes:  # the reply goes on from where it stopped instead
            self.session.notes.remove(self._unrun_note)
        log = self.session.reopen(record)
        request = self.session.continuation(question.plan, record)
        self._active = _Active(question, log)
        yield TurnContinued(question, record)
        async for event in self._stream(log, request, question.plan, on_retry, before):
            yield event

    async def _stream(self, log: TurnLog, request: dict[str, object], plan: TurnPlan,
                      on_retry: Callable[[Retrying], None] | None, before: str = "") -> AsyncGenerator[ChatEvent, None]:
        """Stream the request into ``log``; ``before``: the text of the reply it continues."""
        assert self.client is not None, "connect the engine's client before running a turn"
        tools, persona = plan.tools, plan.persona.title
        from buddy_tui.context.budget import RoundLimits, context_window
        from buddy_tui.conversation.agents import Agents

        limits = RoundLimits.for_window(context_window())  # every request of the turn fits, not only its first
        side = SideEvents()
        agents = Agents(self.session, self.client, self.runner, side, lead_model=plan.model,
                        lead_tools=tools if not plan.consult else self.session.lead_tools(),
                        limit=self.session.config.max_parallel_agents, limits=limits)

        async def execute(call: ToolCall) -> ToolResult:
            if call.name == "Task" and "Task" in tools:
                return await agents.run(call)
            return await self.runner.execute(call, tools, persona)

        events: AsyncIterator[ChatEvent]
        if plan.consult:
            events = agents.consult(plan.consult, plan.prompt, request)
        else:
            events = stream_turn(self.client, request, execute if tools else None, on_retry=on_retry,
                                 reply_so_far=before, limits=limits, side=side,
                                 parallel=lambda call: call.name in CONCURRENT)
        if self.batch:
            from buddy_tui.conversation.batching import batched

            events = batched(events)  # deltas joined: a few updates a second, not a thousand
        saver = asyncio.create_task(self._checkpoints(log))
        try:
            async with contextlib.aclosing(cast(AsyncGenerator[ChatEvent, None], events)):
                async for event in events:
                    if not self._is_active(log):
                        return  # stopped: the stop recorded what had arrived
                    if isinstance(event, TurnFailed) and log.continuing:  # it stays cut: say how to go on
                        event = replace(event, failure=replace(event.failure, hint=CONTINUE_AGAIN))
                    if log.feed(event) and not isinstance(event, TurnFinished | TurnFailed):
                        self.session.save(log)  # a checkpoint: a crash now loses at most the last moment
                    if isinstance(event, TurnFinished | TurnFailed):
                        event = replace(event, usage=log.record.usage)  # a continued reply's: all of it
                        self._active = None
                        self.session.end_turn(log)
                        if log.record.state in ("failed", "refused"):  # /retry sends it again (another model?)
                            self.unsent = log.record
                        if isinstance(event, TurnFinished) and event.unrun:  # the model must not think they ran
                            self._unrun_note = unrun_note(event.unrun)
                            self.session.notes.append(self._unrun_note)
                    yield event
        finally:
            saver.cancel()
            if self._is_active(log):  # the iterating task was cancelled (Ctrl+C, a closed pipe)
                self.stop()

    def _is_active(self, log: TurnLog) -> bool:
        return self._active is not None and self._active.log is log

    async def _checkpoints(self, log: TurnLog) -> None:
        """Save text that arrived before a pause in the stream: it must not wait for the next delta."""
        while self._is_active(log):
            await asyncio.sleep(CHECKPOINT_SECONDS)
            if self._is_active(log) and log.pending():
                self.session.save(log)

    def stop(self) -> TurnRecord | None:
        """Stop the turn under way, keeping what arrived; its record, or None when none was under
        way (or it had already ended). Cancel the task that iterates :meth:`run` as well: the HTTP
        stream closes with it."""
        active, self._active = self._active, None
        if active is None:
            return None
        active.log.stop()
        self.session.end_turn(active.log)
        if not active.log.record.recorded:  # nothing came back: the question is there to send again
            self.unsent = active.log.record
        return active.log.record

    # ------------------------------------------------------------------ around the turns
    @property
    def continuable(self) -> TurnRecord | None:
        """The last turn when its reply was cut at the token limit and can go on: its last message
        ends with the text the reply on show ends with (not a note standing in for a message that
        said nothing); else None."""
        last = self.session.turns[-1] if self.session.turns and not self.busy else None
        if last is None or last.state != "cut" or not last.recorded:
            return None
        content = last.recorded[-1].get("content") or [{}]
        ends_in_text = last.recorded[-1].get("role") == "assistant" and content[-1].get("type") == "text"
        text = str(content[-1].get("text", "")) if ends_in_text else ""
        return last if text.strip() and last.reply.endswith(text) else None

    def continuation(self) -> Question | str:
        """The request for the rest of the last reply, cut at the token limit (``/continue``);
        else what to tell the person."""
        record = self.continuable
        if record is None:
            return "Nothing to continue: the last reply was not cut at the token limit."
        persona = self.session.find_persona(record.persona) or self.session.current
        plan = self.session.interpret(record.typed, [], persona)
        if not isinstance(plan, TurnPlan):  # its command is gone: the persona's own tools, then
            tools = tuple(t for t in TOOL_NAMES if t in persona.allowed_tools)
            plan = TurnPlan(record.typed, record.typed, persona, record.model, None, None, tools=tools)
        return Question(replace(plan, model=record.model, mentions=[]), continues=record)

    def consultation(self, name: str, text: str) -> Question | str:
        """``/consult NAME QUESTION``: a question for one agent directly, run as an agent panel
        (attach the current files as the Question's chips); else what to tell the person."""
        plan = self.session.consultation(name, text)
        return plan if isinstance(plan, str) else Question(plan)

    def retry(self, override: Persona | None = None) -> Question | str:
        """The last question that got no full answer, ready to go again with the same content;
        else what to tell the person."""
        record = self.unsent
        if record is None:
            return "Nothing to retry: every question so far got its answer."
        plan = self.session.interpret(record.typed, [], override)
        if not isinstance(plan, TurnPlan):
            return "That question can no longer be sent as it was; edit it and send it again."
        self.unsent = None
        return Question(plan, resend=record)

    def undoable(self) -> list[tuple[ToolCall, ProposedChange]]:
        """The file changes of this conversation that can still be undone, oldest first."""
        return self.runner.undoable()

    async def undo(self, call: ToolCall) -> ToolResult:
        """Revert the change ``call`` made; the model hears of it with the next question."""
        change = self.runner.changes.get(call.id)
        outcome = await self.runner.undo(call.id)
        if change is not None and not outcome.is_error:  # the model must not assume its change is there
            self.session.notes.append(f"The user undid your {call.name} of {change.path}; "
                                      "it is back as it was before that change.")
        return outcome

    def recovery(self, resume_latest: bool) -> Recovery:
        """On opening: conversations of this project that a crash cut (newest first), else with
        ``resume_latest`` its latest one. Reads the database: call it off the UI's thread."""
        store = self.session.store
        if store is None:
            return Recovery()
        crashed = store.interrupted(self.session.project_key)
        latest = store.latest(self.session.project_key) if resume_latest and not crashed else None
        return Recovery([c.id for c in crashed], latest.id if latest is not None else None)

    def open(self, conversation_id: int) -> StoredConversation | None:
        """Continue a stored conversation (None when it is gone); any turn under way stops first.
        Raises what the database raises."""
        self.stop()
        store = self.session.store
        stored = store.load(conversation_id) if store is not None else None
        if stored is None:
            return None
        self.runner.reset()
        self.session.resume(stored)
        last = stored.turns[-1] if stored.turns else None
        unanswered = last is not None and (last.state in ("failed", "interrupted", "refused")
                                          or (last.state == "stopped" and not last.reply))
        self.unsent = last if unanswered else None
        return stored

    def new_conversation(self) -> None:
        """Forget every turn and permission; the next question starts a new stored conversation."""
        self.stop()
        self.unsent = None
        self.runner.reset()
        self.session.new_conversation()

    async def close(self) -> None:
        """Stop any turn and close the client's connections."""
        self.stop()
        if self.client is not None:
            await self.client.close()
