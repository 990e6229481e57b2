"""One conversation turn with Claude: build the request, stream it, and yield typed events.

The UI never sees the SDK: it gets :class:`TextDelta`, :class:`TurnFinished` and
:class:`TurnFailed` and renders them, and hears of retries as :class:`Retrying`.
Cancelling the consuming task (Esc in the app) leaves the SDK's stream context, which closes the
HTTP response at once. The reply streams as the API's raw events, from which
:mod:`buddy_tui.conversation.accumulate` builds the message in linear time (the SDK's
``messages.stream`` helper re-parses a tool call's whole input on every piece of it).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from buddy_tui.context.budget import RoundLimits, fit_results
from buddy_tui.context.project import MemoryFile
from buddy_tui.conversation.accumulate import Accumulator, Message
from buddy_tui.conversation.errors import Failure, declined, describe_error
from buddy_tui.conversation.events import (
    ChatEvent as ChatEvent,
    Counted as Counted,
    Retrying as Retrying,
    RoundDone as RoundDone,
    TextDelta as TextDelta,
    ToolFinished as ToolFinished,
    ToolStarted as ToolStarted,
    TurnFailed as TurnFailed,
    TurnFinished as TurnFinished,
)
from buddy_tui.conversation.retries import Opening, RetryNotice
from buddy_tui.conversation.rounds import Executor as Executor, SideEvents, run_calls
from buddy_tui.personas.persona import Persona
from buddy_tui.store.records import Usage, estimate_tokens
from buddy_tui.tools.specs import ToolCall, ToolResult

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic, AsyncStream
    from anthropic.types import RawMessageStreamEvent

CACHE = {"type": "ephemeral"}


#: How many model round trips one turn may take when the model keeps calling tools.
MAX_TOOL_ROUNDS = 12
#: The user message that asks for the rest of a reply cut at the token limit (or paused by the API).
#: Current models refuse a request that ends with an assistant message (a prefill), so the cut reply
#: goes as it stands and this follows it. It is only sent: the conversation never keeps it.
GO_ON = ("Your previous message stopped before it was finished (it reached the output limit). Continue it "
         "from the exact point where it stopped, even in the middle of a word, a sentence or a code block: "
         "write only the text that comes next, beginning with a space or a line break if one belongs "
         "there. Do not repeat anything already written, and add no introduction or comment.")


def named_calls(calls: Sequence[ToolCall]) -> str:
    """``a Write call (app/paging.py)``, ``2 tool calls (Write app/a.py, Edit app/b.py)``."""
    if len(calls) == 1:
        target = calls[0].target
        return f"a {calls[0].name} call" + (f" ({target})" if target else "")
    return f"{len(calls)} tool calls ({', '.join(f'{c.name} {c.target}'.strip() for c in calls)})"


def unrun_summary(call: ToolCall) -> str:
    """The line shown for a call the token limit cut before it was complete."""
    return f"{call.name} {call.target}".strip() + " not run: the reply reached the token limit in the middle of it"


def unrun_note(calls: Sequence[ToolCall]) -> str:
    """What the model hears with the next question about calls it began that were never run."""
    return (f"Your previous reply reached the output token limit while you were writing {named_calls(calls)}; "
            "that call was cut off and was not run, so nothing it would have done has happened.")


@dataclass
class Conversation:
    """The turns so far, in the Messages API's shape, always alternating user and assistant."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def record(self, user: list[dict[str, Any]], reply: str | Sequence[dict[str, Any]],
               usage: Usage | None = None) -> None:
        """Keep a finished (or interrupted, non-empty) exchange for the next turn's context:
        the question, then either the reply's text or the messages the turn added (tool calls,
        their results, and the final answer)."""
        answer = [{"role": "assistant", "content": [{"type": "text", "text": reply}]}] if isinstance(reply, str) \
            else list(reply)
        self.extend([{"role": "user", "content": user}, *answer], usage or Usage())

    def extend(self, messages: Sequence[dict[str, Any]], usage: Usage) -> None:
        """Add what a turn leaves in the context (its question first) and the tokens it cost."""
        self.messages.extend(messages)
        self.usage = self.usage + usage

    def clear(self) -> None:
        """Forget every turn."""
        self.messages.clear()
        self.usage = Usage()


def build_request(
    *,
    persona: Persona,
    conversation: Conversation,
    user: list[dict[str, Any]],
    model: str,
    max_tokens: int,
    memory: Sequence[MemoryFile] = (),
    tools: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The keyword arguments of ``messages.create`` for one turn (``stream=True`` is added).

    The persona is the system prompt, followed by the project's memory files; the last system
    block carries a cache breakpoint, and so does the newest user block, so the next turn reads
    the whole conversation so far from the prompt cache.
    """
    system: list[dict[str, Any]] = [{"type": "text", "text": persona.prompt}]
    for item in memory:
        note = ' truncated="true"' if item.truncated else ""
        system.append({"type": "text", "text": f'<project_memory source="{item.path}"{note}>\n{item.text}\n'
                                               "</project_memory>"})
    system[-1]["cache_control"] = CACHE
    last = [dict(block) for block in user]
    last[-1]["cache_control"] = CACHE
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "system": system,
        "messages": [*conversation.messages, {"role": "user", "content": last}],
    }
    if tools:
        request["tools"] = list(tools)
    return request


def _usage_of(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    return Usage(
        input_tokens=getattr(raw, "input_tokens", 0) or 0,
        output_tokens=getattr(raw, "output_tokens", 0) or 0,
        cache_read_tokens=getattr(raw, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=getattr(raw, "cache_creation_input_tokens", 0) or 0,
    )


def _input_only(usage: Usage) -> Usage:
    """message_start's counts without its placeholder output count."""
    return Usage(usage.input_tokens, 0, usage.cache_read_tokens, usage.cache_write_tokens)


def spent_so_far(started: Usage | None, reported: Usage | None, chars: int) -> Usage:
    """A round's tokens as far as known: the API's own count once its message_delta came
    (``reported``); else the input from message_start (``started``) and the output estimated
    from the ``chars`` characters of text received; nothing when the stream never started."""
    if reported is not None:
        return reported
    if started is None:
        return Usage()
    return started + Usage(output_tokens=estimate_tokens(chars), estimated=True)


def _block_param(block: dict[str, Any]) -> dict[str, Any]:
    """A response content block as a request content block, for the next round (any other kind
    goes back as it came)."""
    if block["type"] == "text":
        return {"type": "text", "text": block.get("text", "")}
    if block["type"] == "tool_use":
        return {"type": "tool_use", "id": block.get("id"), "name": block.get("name"), "input": block.get("input")}
    return block


def _trailing_space(messages: Sequence[dict[str, Any]]) -> str:
    """The whitespace ending the text of a trailing assistant message (a cut reply that goes on:
    the reply on show already ends with it), "" when the conversation ends otherwise."""
    if not messages or messages[-1].get("role") != "assistant" or not messages[-1].get("content"):
        return ""
    last = messages[-1]["content"][-1]
    text = last.get("text", "") if last.get("type") == "text" else ""
    return text[len(text.rstrip()):]


def _sendable(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` as they go out: a trailing assistant message (a cut or paused reply that goes
    on) is followed by the user message :data:`GO_ON`, since a request must end with a user message."""
    if not messages or messages[-1]["role"] != "assistant":
        return messages
    return [*messages, {"role": "user", "content": [{"type": "text", "text": GO_ON}]}]


def joined(tail: str, text: str) -> str:
    """``text`` continuing a reply that already shows the whitespace ``tail`` at its end: its
    leading whitespace, less what the reply already shows (so the two read as one text)."""
    lead = text[: len(text) - len(text.lstrip())]
    if lead.startswith(tail):
        return text[len(tail):]
    return text[len(lead):] if tail.startswith(lead) else text


def _merged(added: list[dict[str, Any]], content: list[dict[str, Any]], tail: str) -> None:
    """Add a round's content to ``added``: appended to the trailing assistant message when there
    is one (a continuation, or a paused turn), its first text joined to that message's last."""
    if not added or added[-1]["role"] != "assistant":
        added.append({"role": "assistant", "content": content})
        return
    blocks = list(added[-1]["content"])
    if content and blocks and content[0]["type"] == "text" and blocks[-1]["type"] == "text":
        blocks[-1] = {**blocks[-1], "text": blocks[-1]["text"] + joined(tail, content[0]["text"])}
        content = content[1:]
    added[-1] = {**added[-1], "content": blocks + content}


def _nothing_said(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """The content of a last message that said nothing (a message must not be empty): what
    happened to the calls it began, if any."""
    if not calls:
        return [{"type": "text", "text": "(no answer)"}]
    return [{"type": "text", "text": f"(The reply reached the token limit while writing {named_calls(calls)}, "
                                     "which was not run.)"}]


def _not_run(cap: int) -> str:
    return (f"Not run: buddy-tui runs at most {cap} tool calls in one round, and this call came after them. "
            "Ask for it again in a later round if you still need it.")


def _text_only(content: list[dict[str, Any]], note: str) -> list[dict[str, Any]]:
    blocks = [b for b in content if b.get("type") == "text" and b.get("text")]
    return [*blocks, {"type": "text", "text": note}]


def _announcer(on_retry: Callable[[Retrying], None] | None) -> Callable[[RetryNotice], None] | None:
    """Pass a round's retry notices on to ``on_retry`` as :class:`Retrying` events."""
    if on_retry is None:
        return None

    def announce(notice: RetryNotice) -> None:
        on_retry(Retrying(notice))

    return announce


def _opener(client: AsyncAnthropic, stack: contextlib.AsyncExitStack,
            params: dict[str, Any]) -> Callable[[], Awaitable[AsyncStream[RawMessageStreamEvent]]]:
    """Open the round's stream of raw events inside ``stack`` (leaving it closes the HTTP
    response): each call is a new request."""
    async def attempt() -> AsyncStream[RawMessageStreamEvent]:
        stream = await client.messages.create(**params, stream=True)
        return await stack.enter_async_context(stream)

    return attempt


def _refusal_of(final: Message, partial: bool) -> Failure | None:
    """The refusal a finished message ended with, in words (its category and explanation come
    with ``stop_details`` when the API gives them); None when it ended otherwise."""
    if final.stop_reason != "refusal":
        return None
    details = final.stop_details or {}
    return declined(partial, details.get("category"), details.get("explanation"))


async def stream_turn(
    client: AsyncAnthropic,
    request: dict[str, Any],
    execute: Executor | None = None,
    max_rounds: int = MAX_TOOL_ROUNDS,
    *,
    on_retry: Callable[[Retrying], None] | None = None,
    reply_so_far: str = "",
    limits: RoundLimits | None = None,
    parallel: Callable[[ToolCall], bool] | None = None,
    side: SideEvents | None = None,
) -> AsyncIterator[ChatEvent]:
    """Stream one turn, running the model's tool calls through ``execute`` until it stops.

    Yields text as it arrives, each tool call before and after it runs, and exactly one final
    event. API and network errors become :class:`TurnFailed`; cancellation propagates (and the
    SDK's stream context closes the HTTP response on the way out). The messages the turn adds
    after the user's question come back in :attr:`TurnFinished.messages`, always ending with an
    assistant message so the conversation stays valid for the next turn.

    A request whose messages end with an assistant message continues it (a reply cut at the
    token limit): it goes as it stands, followed by the user message :data:`GO_ON` (current models
    refuse a request ending with an assistant message), the new text joins it (:func:`joined`), and
    the message comes back whole, first in :attr:`TurnFinished.messages`, without that user message;
    ``reply_so_far`` is the reply's text on show, which the final events' text starts with. A round
    the API paused (``pause_turn``) is continued the same way (buddy-tui offers no server tools, so a
    paused message holds nothing the API would need back as it was).

    Tool calls in the message that ends the turn (cut at the token limit in the middle of one) never
    ran: they are left out of what the turn adds and reported in :attr:`TurnFinished.unrun`, since an
    unanswered ``tool_use`` would make every later request invalid.

    Opening a round's stream is retried as :mod:`buddy_tui.conversation.retries` decides, as many
    times as the client's ``max_retries`` says (:func:`buddy_tui.conversation.client.connect` sets
    it from the settings); the requests themselves go out with the SDK's own retries off, and a
    stream once open is never retried. Each retry is
    announced to ``on_retry`` before its wait; it is a callback because a generator cannot yield
    while it awaits the stream's opening. Cancelling during a wait stops it at once.

    ``limits`` keeps every request of the turn within the context budget, not only its first: a
    round runs at most ``max_calls`` calls (the others get a tool_result saying they were not
    run), its results are cut to ``max_result_chars`` together, and when the follow-up request
    would still not fit, the round's calls are taken back and the turn ends (``over_budget``).

    Calls for which ``parallel`` is true run at the same time as their neighbours of that kind
    (:mod:`buddy_tui.conversation.rounds`); what they emit on ``side`` (an agent's events) is
    yielded while they run.
    """
    quiet = client.with_options(max_retries=0)  # the retries are ours (see Opening), never the SDK's
    messages = list(request["messages"])
    added: list[dict[str, Any]] = [messages.pop()] if messages and messages[-1]["role"] == "assistant" else []
    text: list[str] = [reply_so_far] if reply_so_far else []
    usage = Usage()
    for round_number in range(1, max_rounds + 1):
        pieces: list[str] = []
        tail = _trailing_space(added)
        lead: str | None = "" if tail else None  # a continuation's first whitespace, held until text comes
        opening = Opening(client.max_retries, _announcer(on_retry))
        opened = False
        started: Usage | None = None
        reported: Usage | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                params = {**request, "messages": [*messages, *_sendable(added)]}
                stream = await opening(_opener(quiet, stack, params))
                opened = True
                message = Accumulator()
                async for event in stream:
                    message.feed(event)
                    fragment = ""
                    if event.type == "content_block_delta" and event.delta.type == "text_delta":
                        fragment = event.delta.text
                        if lead is not None:
                            lead += fragment
                            fragment, lead = (joined(tail, lead), None) if lead.strip() else ("", lead)
                    elif event.type == "content_block_start" and event.content_block.type != "text":
                        fragment, lead = joined(tail, lead or ""), None
                    elif event.type == "message_start":
                        started = _input_only(_usage_of(event.message.usage))
                        yield Counted(usage + started)
                    elif event.type == "message_delta":
                        reported = message.usage
                        yield Counted(usage + reported, reported=True)
                    if fragment:
                        pieces.append(fragment)
                        yield TextDelta(fragment)
                final = message.message()
                if lead and (fragment := joined(tail, lead)):  # the continuation was whitespace alone
                    pieces.append(fragment)
                    yield TextDelta(fragment)
        except Exception as exc:  # every failure is reported, never raised into the UI
            attempts = 1 if opened else max(1, opening.attempts)
            spent = usage + spent_so_far(started, reported, sum(map(len, pieces)))
            yield TurnFailed(describe_error(exc, attempts=attempts, started=opened), "".join(text + pieces), spent)
            return
        usage = usage + final.usage
        text += pieces
        content = [b for b in map(_block_param, final.content) if b["type"] != "text" or b["text"]]
        if final.stop_reason == "pause_turn" and round_number < max_rounds:
            _merged(added, content, tail)  # the API paused a long turn: go on from where it stopped
            continue
        calls = [ToolCall(b["id"], b["name"], dict(b["input"]) if isinstance(b.get("input"), dict) else {})
                 for b in final.content if b["type"] == "tool_use"]
        if final.stop_reason != "tool_use" or not calls or execute is None:
            content = [b for b in content if b["type"] != "tool_use"]  # never run: see TurnFinished.unrun
            if not content and not (added and added[-1]["role"] == "assistant"):
                content = _nothing_said(calls)
            _merged(added, content, tail)
            whole = "".join(text)
            yield TurnFinished(whole, final.stop_reason, usage, tuple(added), _refusal_of(final, bool(whole.strip())),
                               tuple(calls))
            return
        if round_number == max_rounds:
            note = f"(Stopped: the model asked for more tools after {max_rounds} rounds.)"
            _merged(added, _text_only(content, note), tail)
            yield TextDelta(f"\n\n{note}")
            yield TurnFinished("".join(text) + f"\n\n{note}", "max_rounds", usage, tuple(added))
            return
        _merged(added, content, tail)
        run, skipped = (calls[: limits.max_calls], calls[limits.max_calls:]) if limits else (calls, [])
        outcomes: list[ToolResult] = []
        async for happened in run_calls(run, execute, outcomes, round_number=round_number, max_rounds=max_rounds,
                                     parallel=parallel, side=side):
            yield happened
        if skipped:
            assert limits is not None
            outcomes += [ToolResult(_not_run(limits.max_calls), is_error=True)] * len(skipped)
            note = f"({len(skipped)} more tool calls were not run: at most {limits.max_calls} run in one round.)"
            text.append(f"\n\n{note}")
            yield TextDelta(f"\n\n{note}")
        contents = [o.content for o in outcomes]
        if limits is not None:
            contents = fit_results(contents, limits.max_result_chars)
        added.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": body, "is_error": outcome.is_error}
            for call, outcome, body in zip(calls, outcomes, contents, strict=True)]})
        over = limits.over({**request, "messages": [*messages, *_sendable(added)]}) if limits else None
        if over is not None:
            note = (f"(Stopped: the results of the last {len(calls)} tool calls would make the next request too big "
                    f"for the model's context ({over.describe()}); the calls ran, but their results are not kept. "
                    "Ask for less at a time, or /clear.)")
            added.pop()  # the round is taken back: a tool_use must never go without its result
            added[-1] = {**added[-1], "content": _text_only(added[-1]["content"], note)}
            text.append(f"\n\n{note}")
            yield TextDelta(f"\n\n{note}")
            yield TurnFinished("".join(text), "over_budget", usage, tuple(added))
            return
        yield RoundDone(tuple(added))
        if pieces:
            text.append("\n\n")
