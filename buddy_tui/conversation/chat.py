"""One conversation turn with Claude: build the request, stream it, and yield typed events.

The UI never sees the SDK: it gets :class:`TextDelta`, :class:`TurnFinished` and
:class:`TurnFailed` and renders them, and hears of retries as :class:`Retrying`.
Cancelling the consuming task (Esc in the app) leaves the SDK's stream context, which closes the
HTTP response at once.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.project import MemoryFile
from buddy_tui.conversation.errors import Failure, describe_error
from buddy_tui.conversation.retries import Opening, RetryNotice
from buddy_tui.personas.persona import Persona
from buddy_tui.store.records import Usage
from buddy_tui.tools.specs import ToolCall, ToolResult

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic
    from anthropic.lib.streaming import AsyncMessageStream

CACHE = {"type": "ephemeral"}


@dataclass(frozen=True)
class TextDelta:
    """A fragment of the reply, in order."""

    text: str


@dataclass(frozen=True)
class TurnFinished:
    """The reply is complete."""

    text: str
    stop_reason: str | None
    usage: Usage
    messages: tuple[dict[str, Any], ...] = ()  # what the turn adds after the question


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
class Counted:
    """The tokens counted so far in this turn (each round's input arrives as its stream starts),
    so a reply stopped or cut part-way still shows what it cost."""

    usage: Usage


ChatEvent = TextDelta | Retrying | Counted | ToolStarted | ToolFinished | RoundDone | TurnFinished | TurnFailed
Executor = Callable[[ToolCall], Awaitable[ToolResult]]
#: How many model round trips one turn may take when the model keeps calling tools.
MAX_TOOL_ROUNDS = 12


_CLOSING_TAGS = re.compile(r"</(document_content|document|documents|source)>", re.IGNORECASE)


def _fenced(text: str) -> str:
    """File text that cannot close the tags around it (``</document_content>`` becomes ``<\\/...>``)."""
    return _CLOSING_TAGS.sub(lambda m: f"<\\/{m.group(1)}>", text)


def render_documents(attachments: Sequence[Attachment]) -> str:
    """Attached files as one clearly delimited block, each with its path, ahead of the question."""
    parts = ["<documents>"]
    for index, item in enumerate(attachments, 1):
        note = ""
        if item.lines:
            note = f"\n<note>Lines {item.lines[0]}-{item.lines[1]} of this file.</note>"
        elif item.truncated:
            note = (f"\n<note>Only the first {len(item.text.encode()):,} of {item.size:,} bytes of "
                    "this file are included.</note>")
        parts.append(
            f'<document index="{index}">\n<source>{_fenced(item.path)}</source>{note}\n'
            f"<document_content>\n{_fenced(item.text)}\n</document_content>\n</document>"
        )
    parts.append("</documents>")
    return "\n".join(parts)


def user_content(question: str, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
    """The content blocks of a user turn: the documents (if any), then the question."""
    blocks: list[dict[str, Any]] = []
    if attachments:
        blocks.append({"type": "text", "text": render_documents(attachments)})
    blocks.append({"type": "text", "text": question})
    return blocks


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
    """The keyword arguments of ``messages.stream`` for one turn.

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


def _started_usage(stream: Any) -> Usage:
    """The tokens a stream that failed part-way had reported (message_start counts the input)."""
    try:
        return _usage_of(stream.current_message_snapshot.usage)
    except (AssertionError, AttributeError):  # no message_start yet
        return Usage()


def _block_param(block: Any) -> dict[str, Any]:
    """A response content block as a request content block, for the next round."""
    if block.type == "text":
        return {"type": "text", "text": block.text}
    if block.type == "tool_use":
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
    return dict(block.model_dump(exclude_none=True))


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
            params: dict[str, Any]) -> Callable[[], Awaitable[AsyncMessageStream]]:
    """Open the round's stream inside ``stack``: each call is a new request."""
    return lambda: stack.enter_async_context(client.messages.stream(**params))


async def stream_turn(
    client: AsyncAnthropic,
    request: dict[str, Any],
    execute: Executor | None = None,
    max_rounds: int = MAX_TOOL_ROUNDS,
    *,
    on_retry: Callable[[Retrying], None] | None = None,
) -> AsyncIterator[ChatEvent]:
    """Stream one turn, running the model's tool calls through ``execute`` until it stops.

    Yields text as it arrives, each tool call before and after it runs, and exactly one final
    event. API and network errors become :class:`TurnFailed`; cancellation propagates (and the
    SDK's stream context closes the HTTP response on the way out). The messages the turn adds
    after the user's question come back in :attr:`TurnFinished.messages`, always ending with an
    assistant message so the conversation stays valid for the next turn.

    Opening a round's stream is retried as :mod:`buddy_tui.conversation.retries` decides, as many
    times as the client's ``max_retries`` says (:func:`buddy_tui.conversation.client.connect` sets
    it from the settings); the requests themselves go out with the SDK's own retries off, and a
    stream once open is never retried. Each retry is
    announced to ``on_retry`` before its wait; it is a callback because a generator cannot yield
    while it awaits the stream's opening. Cancelling during a wait stops it at once.
    """
    quiet = client.with_options(max_retries=0)  # the retries are ours (see Opening), never the SDK's
    added: list[dict[str, Any]] = []
    text: list[str] = []
    usage = Usage()
    for round_number in range(1, max_rounds + 1):
        pieces: list[str] = []
        opening = Opening(client.max_retries, _announcer(on_retry))
        opened = False
        try:
            async with contextlib.AsyncExitStack() as stack:
                params = {**request, "messages": [*request["messages"], *added]}
                stream = await opening(_opener(quiet, stack, params))
                opened = True
                async for event in stream:
                    if event.type == "text":
                        pieces.append(event.text)
                        yield TextDelta(event.text)
                    elif event.type == "message_start":
                        yield Counted(usage + _usage_of(event.message.usage))
                final = await stream.get_final_message()
        except Exception as exc:  # every failure is reported, never raised into the UI
            attempts = 1 if opened else max(1, opening.attempts)
            spent = usage + (_started_usage(stream) if opened else Usage())
            yield TurnFailed(describe_error(exc, attempts=attempts, started=opened), "".join(text + pieces), spent)
            return
        usage = usage + _usage_of(final.usage)
        text += pieces
        content = [_block_param(block) for block in final.content]
        calls = [ToolCall(b.id, b.name, dict(b.input) if isinstance(b.input, dict) else {})
                 for b in final.content if b.type == "tool_use"]
        if final.stop_reason != "tool_use" or not calls or execute is None:
            added.append({"role": "assistant", "content": content or [{"type": "text", "text": "(no answer)"}]})
            yield TurnFinished("".join(text), final.stop_reason, usage, tuple(added))
            return
        if round_number == max_rounds:
            note = f"(Stopped: the model asked for more tools after {max_rounds} rounds.)"
            added.append({"role": "assistant", "content": _text_only(content, note)})
            yield TextDelta(f"\n\n{note}")
            yield TurnFinished("".join(text) + f"\n\n{note}", "max_rounds", usage, tuple(added))
            return
        added.append({"role": "assistant", "content": content})
        results: list[dict[str, Any]] = []
        for call in calls:
            yield ToolStarted(call, round_number, max_rounds)
            result = await execute(call)
            yield ToolFinished(call, result)
            results.append({"type": "tool_result", "tool_use_id": call.id, "content": result.content,
                            "is_error": result.is_error})
        added.append({"role": "user", "content": results})
        yield RoundDone(tuple(added))
        if pieces:
            text.append("\n\n")
