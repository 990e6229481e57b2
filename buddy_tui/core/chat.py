"""One conversation turn with Claude: build the request, stream it, and yield typed events.

The UI never sees the SDK: it gets :class:`TextDelta`, :class:`TurnFinished` and
:class:`TurnFailed` and renders them. Cancelling the consuming task (Esc in the app) leaves the
SDK's stream context, which closes the HTTP response at once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from buddy_tui.core.context import Attachment
from buddy_tui.core.errors import Failure, describe_error
from buddy_tui.core.personas import Persona
from buddy_tui.core.project import MemoryFile

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

CACHE = {"type": "ephemeral"}


@dataclass(frozen=True)
class Usage:
    """Token counts for a turn (or, added up, a conversation)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    def summary(self) -> str:
        """``in 1,204 · out 380 · cache read 1,100`` (zero cache figures left out)."""
        parts = [f"in {self.input_tokens:,}", f"out {self.output_tokens:,}"]
        if self.cache_read_tokens:
            parts.append(f"cache read {self.cache_read_tokens:,}")
        if self.cache_write_tokens:
            parts.append(f"cache write {self.cache_write_tokens:,}")
        return " · ".join(parts)


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


@dataclass(frozen=True)
class TurnFailed:
    """The call failed; ``partial`` is whatever text had arrived before it did."""

    failure: Failure
    partial: str


ChatEvent = TextDelta | TurnFinished | TurnFailed


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

    def record(self, user: list[dict[str, Any]], reply: str, usage: Usage | None = None) -> None:
        """Keep a finished (or interrupted, non-empty) exchange for the next turn's context."""
        self.messages.append({"role": "user", "content": user})
        self.messages.append({"role": "assistant", "content": [{"type": "text", "text": reply}]})
        if usage is not None:
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
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": system,
        "messages": [*conversation.messages, {"role": "user", "content": last}],
    }


def _usage_of(raw: Any) -> Usage:
    if raw is None:
        return Usage()
    return Usage(
        input_tokens=getattr(raw, "input_tokens", 0) or 0,
        output_tokens=getattr(raw, "output_tokens", 0) or 0,
        cache_read_tokens=getattr(raw, "cache_read_input_tokens", 0) or 0,
        cache_write_tokens=getattr(raw, "cache_creation_input_tokens", 0) or 0,
    )


async def stream_turn(client: AsyncAnthropic, request: dict[str, Any]) -> AsyncIterator[ChatEvent]:
    """Stream one turn, yielding text as it arrives and exactly one final event.

    API and network errors become :class:`TurnFailed`; cancellation propagates (and the SDK's
    stream context closes the HTTP response on the way out).
    """
    pieces: list[str] = []
    try:
        async with client.messages.stream(**request) as stream:
            async for event in stream:
                if event.type == "text":
                    pieces.append(event.text)
                    yield TextDelta(event.text)
            final = await stream.get_final_message()
    except Exception as exc:  # every failure is reported, never raised into the UI
        yield TurnFailed(describe_error(exc), "".join(pieces))
        return
    yield TurnFinished("".join(pieces), final.stop_reason, _usage_of(final.usage))
