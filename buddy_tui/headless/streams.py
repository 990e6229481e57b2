"""What every ``buddy-tui ask`` output format builds on: the :class:`Output` interface (one call
per thing the turn reports), and writing to a stream that may be a terminal, a pipe or a file.

Kept apart from :mod:`buddy_tui.headless.output`, which picks the format: the markdown format
(:mod:`buddy_tui.headless.markdown`) subclasses :class:`Output` from here, so it does not import
the module that imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from buddy_tui.conversation.chat import TurnFinished
    from buddy_tui.conversation.events import AgentEnded, AgentStarted
    from buddy_tui.conversation.retries import RetryNotice
    from buddy_tui.store.records import Usage
    from buddy_tui.tools.specs import ToolCall, ToolResult


def is_tty(stream: object) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot say)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False


def write_flushed(stream: TextIO, text: str) -> None:
    """Write and flush; characters the stream cannot encode are replaced, not fatal.
    BrokenPipeError propagates: it means the reader has gone."""
    if not text:
        return
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(encoding, "replace").decode(encoding))
    stream.flush()


class Output:
    """The reply's writer; this base writes nothing, each format overrides what it shows."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = is_tty(stream)

    def delta(self, text: str) -> None:
        """A fragment of the reply (fragments joined make the whole reply)."""

    def tool_call(self, call: ToolCall, agent: AgentStarted | None = None) -> None:
        """The model (the lead, or ``agent``) asked for a tool; it is about to run (or be refused)."""

    def tool_result(self, call: ToolCall, outcome: ToolResult, agent: AgentStarted | None = None) -> None:
        """A tool call of the lead (or of ``agent``) ran, or was refused."""

    def usage(self, usage: Usage) -> None:
        """Tokens counted so far in this turn."""

    def retry(self, notice: RetryNotice, agent: AgentStarted | None = None) -> None:
        """Opening the reply (the lead's, or ``agent``'s) failed and will be tried again."""

    def agent_started(self, agent: AgentStarted) -> None:
        """A Task call's agent began to run (stderr says so in a line)."""

    def agent_delta(self, agent: AgentStarted, text: str) -> None:
        """A fragment of an agent's reply (not the answer: its final text is the Task's result,
        which the lead's answer draws on)."""

    def agent_ended(self, agent: AgentStarted, event: AgentEnded) -> None:
        """An agent run is over (stderr says how in a line)."""

    def final(self, event: TurnFinished, conversation_id: int | None) -> None:
        """The turn succeeded."""

    def failed(self, message: str, retryable: bool) -> None:
        """The command failed (stderr already says why, in one line)."""

    def finish(self) -> None:
        """The reply is over (completely or not): show what is still held back."""
