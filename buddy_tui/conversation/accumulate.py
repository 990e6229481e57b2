"""Build a streamed reply's message from the API's raw server-sent events, in linear time.

The SDK's ``messages.stream`` helper keeps a snapshot of the message that it updates on every
event, and re-parses the whole partial JSON of a tool call's input on each ``input_json_delta``:
a Write of 1 MB of content, streamed in small pieces, costs seconds of CPU that grow faster than
the input. Here text, thinking and tool-input pieces are kept in lists and joined once, when their
block stops (or when the message is asked for, for a block the stream never finished), so each
block's input is parsed exactly once.

Block types this module does not know (server tool results, future kinds) are kept as the dicts
the API sent, so they go back unchanged in the next request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from buddy_tui.store.records import Usage

#: Blocks whose ``input`` arrives as ``input_json_delta`` pieces.
_INPUT_BLOCKS = ("tool_use", "server_tool_use", "mcp_tool_use")


def parse_input(text: str) -> Any:
    """A tool input's JSON, parsed once: a call cut short by the token limit gives what its
    complete part holds (an unfinished string or value is left out), as the SDK's own helper
    does. Malformed JSON raises ``ValueError``."""
    from jiter import from_json

    try:
        return from_json(text.encode(), partial_mode=True)
    except ValueError as exc:
        raise ValueError(f"Unable to parse the tool input JSON from the model: {exc}") from exc


def as_dict(value: Any) -> dict[str, Any]:
    """An SDK model (or a plain dict, for a kind this SDK version does not know) as a dict,
    without the fields that are None."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    dump = getattr(value, "model_dump", None)
    return dict(dump(exclude_none=True)) if callable(dump) else {}


def _count(raw: Any, name: str) -> int | None:
    value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
    return value if isinstance(value, int) else None


@dataclass
class _Block:
    """One content block as it arrives: the dict it started as, and its pieces so far."""

    data: dict[str, Any]
    pieces: list[str] = field(default_factory=list)  # text, thinking or input JSON
    done: bool = False

    def finish(self) -> None:
        """Join the pieces into the block (parsing a tool input once); idempotent."""
        if self.done:
            return
        self.done = True
        kind = self.data.get("type")
        if kind == "text":
            self.data["text"] = self.data.get("text", "") + "".join(self.pieces)
        elif kind == "thinking":
            self.data["thinking"] = self.data.get("thinking", "") + "".join(self.pieces)
        elif self.pieces:  # an input that came as input_json_delta pieces
            self.data["input"] = parse_input("".join(self.pieces))
        self.pieces = []


@dataclass
class Message:
    """The finished (or cut) message: its content blocks as dicts, how it stopped, its tokens."""

    id: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str | None
    stop_details: dict[str, Any] | None
    usage: Usage


class Accumulator:
    """Feed it every raw stream event in order; :attr:`usage` is the count so far, and
    :meth:`message` the message once the stream ended (or as far as it came)."""

    def __init__(self) -> None:
        self.started = False
        self.stopped = False  # message_stop arrived
        self.id = ""
        self.model = ""
        self.stop_reason: str | None = None
        self.stop_details: dict[str, Any] | None = None
        self._counts: dict[str, int] = {}
        self._blocks: dict[int, _Block] = {}

    @property
    def usage(self) -> Usage:
        """The tokens reported so far (message_start's, updated by each message_delta)."""
        c = self._counts
        return Usage(c.get("input_tokens", 0), c.get("output_tokens", 0), c.get("cache_read_input_tokens", 0),
                     c.get("cache_creation_input_tokens", 0))

    def _update(self, raw: Any) -> None:
        """Take the counts a usage object carries (a message_delta's are totals; the ones it
        leaves out keep their value)."""
        for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            if (value := _count(raw, name)) is not None:
                self._counts[name] = value

    def feed(self, event: Any) -> None:
        """Take one event; an event before message_start is a broken stream (``RuntimeError``)."""
        kind = getattr(event, "type", None)
        if kind in ("ping", None):
            return
        if kind == "message_start":
            message = event.message
            self.started = True
            self.id, self.model = str(getattr(message, "id", "")), str(getattr(message, "model", ""))
            self._update(getattr(message, "usage", None))
            return
        if not self.started:
            raise RuntimeError(f'the reply\'s stream sent "{kind}" before "message_start"')
        if kind == "content_block_start":
            self._blocks[event.index] = _Block(as_dict(event.content_block))
        elif kind == "content_block_delta":
            self._delta(event.index, event.delta)
        elif kind == "content_block_stop":
            if (block := self._blocks.get(event.index)) is not None:
                block.finish()
        elif kind == "message_delta":
            delta = event.delta
            self.stop_reason = getattr(delta, "stop_reason", None)
            details = getattr(delta, "stop_details", None)
            self.stop_details = as_dict(details) if details is not None else None
            self._update(getattr(event, "usage", None))
        elif kind == "message_stop":
            self.stopped = True

    def _delta(self, index: int, delta: Any) -> None:
        block = self._blocks.get(index)
        if block is None or block.done:
            return
        kind, have = getattr(delta, "type", None), block.data.get("type")
        if kind == "text_delta" and have == "text":
            block.pieces.append(delta.text)
        elif kind == "input_json_delta" and (have in _INPUT_BLOCKS or "input" in block.data):
            block.pieces.append(delta.partial_json)
        elif kind == "thinking_delta" and have == "thinking":
            block.pieces.append(delta.thinking)
        elif kind == "signature_delta" and have == "thinking":
            block.data["signature"] = delta.signature
        elif kind == "citations_delta" and have == "text":
            block.data.setdefault("citations", []).append(as_dict(delta.citation))

    def message(self) -> Message:
        """The message as far as the stream came: every block finished (a tool call the token
        limit cut gives the part of its input that arrived). ``RuntimeError`` when the stream
        never began."""
        if not self.started:
            raise RuntimeError('the reply\'s stream ended before "message_start"')
        for block in self._blocks.values():
            block.finish()
        content = [self._blocks[i].data for i in sorted(self._blocks)]
        return Message(self.id, self.model, content, self.stop_reason, self.stop_details, self.usage)
