"""Where ``buddy-tui ask`` writes: the reply on stdout in one of three formats, and ``buddy-tui:``
lines on stderr.

``text`` writes the reply exactly as the model streams it; ``markdown`` (in
:mod:`buddy_tui.headless.markdown`, imported only when chosen, since Rich is slow to load) renders
it for a terminal block by block; ``json`` writes one JSON object a line for programs. Every
format gets the same calls from the turn (:class:`~buddy_tui.headless.streams.Output`'s methods),
so the turn's code does not care which one it feeds.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from buddy_tui.context.attachments import printable
from buddy_tui.headless.streams import (
    Output as Output,  # named here too: ask.py takes it from this module
    is_tty,
    write_flushed,
)
from buddy_tui.settings.crash_reports import scrub

if TYPE_CHECKING:
    from buddy_tui.conversation.chat import TurnFinished
    from buddy_tui.conversation.events import AgentEnded, AgentStarted
    from buddy_tui.conversation.retries import RetryNotice
    from buddy_tui.store.records import Usage
    from buddy_tui.tools.specs import ToolCall, ToolResult

FORMATS = ("text", "markdown", "json")


def one_line(text: str) -> str:
    """``text`` as one line of stderr that cannot drive the terminal: control characters (escape
    sequences, carriage returns) become visible symbols, and so do line ends, so a file name or a
    model's text holding a newline cannot forge a ``buddy-tui:`` line of its own."""
    return printable(text).replace("\n", "\u240a")


@dataclass
class Reporter:
    """Lines for standard error, each prefixed ``buddy-tui:`` and each exactly one line (see
    :func:`one_line`); progress is left out when quiet."""

    stream: TextIO | None
    quiet: bool = False

    def progress(self, text: str) -> None:
        if not self.quiet:
            self.problem(text)

    def problem(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.stream is not None:
                print(f"buddy-tui: {one_line(scrub(text))}", file=self.stream, flush=True)

    def error(self, text: str) -> None:
        self.problem(f"error: {text}")


def default_format(stream: object) -> str:
    """``markdown`` for a terminal, ``text`` for a pipe or a file (which get the exact reply)."""
    return "markdown" if is_tty(stream) else "text"


class TextOutput(Output):
    """The reply exactly as written, flushed fragment by fragment. On a terminal, escape sequences
    are made visible (as the app does) and a last newline lets the prompt start on its own line."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.last = "\n"

    def delta(self, text: str) -> None:
        if text:
            write_flushed(self.stream, printable(text) if self.tty else text)
            self.last = text[-1]

    def tool_call(self, call: ToolCall, agent: AgentStarted | None = None) -> None:
        """On a terminal the tool's line goes to standard error, which shares the screen: end the
        reply's line first, so the two do not run together (a pipe keeps the reply exact)."""
        self.finish()

    def agent_started(self, agent: AgentStarted) -> None:
        self.finish()  # as for a tool: stderr's line about it must not run into the reply's

    def agent_ended(self, agent: AgentStarted, event: AgentEnded) -> None:
        self.finish()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.delta("\n" if self.tty and self.last != "\n" else "")


def usage_fields(usage: Usage) -> dict[str, int]:
    """Token counts as JSON fields."""
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens, "cache_write_tokens": usage.cache_write_tokens}


class JsonOutput(Output):
    """One JSON object a line, flushed line by line; exactly one ``final`` or ``error`` ends it
    (the schema is in ``buddy-tui ask --help``)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.ended = False

    def _line(self, kind: str, **fields: Any) -> None:
        # ensure_ascii: escaped text can never drive a terminal nor fail to encode.
        write_flushed(self.stream, json.dumps({"type": kind, **fields}) + "\n")

    def delta(self, text: str) -> None:
        if text:
            self._line("delta", text=text)

    def tool_call(self, call: ToolCall, agent: AgentStarted | None = None) -> None:
        self._line("tool_call", id=call.id, name=call.name, input=call.input, **_whose(agent))

    def tool_result(self, call: ToolCall, outcome: ToolResult, agent: AgentStarted | None = None) -> None:
        self._line("tool_result", id=call.id, name=call.name, is_error=outcome.is_error,
                   summary=outcome.summary or call.name, **_whose(agent))

    def usage(self, usage: Usage) -> None:
        self._line("usage", **usage_fields(usage))

    def retry(self, notice: RetryNotice, agent: AgentStarted | None = None) -> None:
        self._line("retry", reason=notice.reason, wait=round(notice.wait, 3), attempt=notice.attempt,
                   attempts=notice.attempts, **_whose(agent))

    def agent_started(self, agent: AgentStarted) -> None:
        self._line("agent_start", id=agent.agent_id, name=agent.name, title=agent.title,
                   description=agent.description, prompt=agent.prompt, model=agent.model, tools=list(agent.tools))

    def agent_delta(self, agent: AgentStarted, text: str) -> None:
        if text:
            self._line("agent_delta", text=text, **_whose(agent))

    def agent_ended(self, agent: AgentStarted, event: AgentEnded) -> None:
        self._line("agent_end", id=agent.agent_id, name=agent.name, outcome=event.outcome, why=event.why,
                   seconds=round(event.seconds, 3), usage=usage_fields(event.usage), text=event.text)

    def final(self, event: TurnFinished, conversation_id: int | None) -> None:
        if not self.ended:
            self.ended = True
            self._line("final", text=event.text, stop_reason=event.stop_reason, usage=usage_fields(event.usage),
                       conversation_id=conversation_id)

    def failed(self, message: str, retryable: bool) -> None:
        if not self.ended:
            self.ended = True
            with contextlib.suppress(OSError, ValueError):
                self._line("error", message=scrub(message), retryable=retryable)


def _whose(agent: AgentStarted | None) -> dict[str, str | None]:
    """The fields naming the agent an event belongs to: null for the lead's own."""
    return {"agent": agent.name if agent else None, "agent_id": agent.agent_id if agent else None}


def make_output(name: str, stream: TextIO) -> Output:
    """The writer for format ``name`` (one of :data:`FORMATS`) on ``stream``."""
    if name == "json":
        return JsonOutput(stream)
    if name == "markdown":
        from buddy_tui.headless.markdown import MarkdownOutput  # Rich loads only when asked for

        return MarkdownOutput(stream)
    return TextOutput(stream)
