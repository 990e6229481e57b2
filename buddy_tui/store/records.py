"""What a stored conversation is made of: turns (a question and its reply) and their summaries.

Plain data shared by the history database (core/history.py), the turn log that fills a turn as
it streams (core/turnlog.py), the Markdown export and the history screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

#: ``streaming`` while the reply arrives; ``complete`` when it ended normally; ``cut`` when it reached
#: the token limit (it can be continued); ``refused`` when the model declined to answer; ``stopped``
#: when the user pressed Esc; ``failed`` when the model call failed; ``interrupted`` when buddy-tui
#: itself died while the reply was streaming (found on the next start).
TurnState = Literal["streaming", "complete", "cut", "refused", "stopped", "failed", "interrupted"]
#: Characters per output token, for estimating the tokens of text whose count never arrived.
CHARS_PER_TOKEN = 4
TITLE_CHARS = 72


@dataclass(frozen=True)
class Usage:
    """Token counts for a turn (or, added up, a conversation). ``estimated`` says some of the
    output count is an estimate from the text received: the reply was stopped or failed before
    the API sent its count."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    estimated: bool = False

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.estimated or other.estimated,
        )

    def __sub__(self, other: Usage) -> Usage:
        """What is left when ``other`` (a part of these counts) is taken out again."""
        return Usage(
            max(0, self.input_tokens - other.input_tokens),
            max(0, self.output_tokens - other.output_tokens),
            max(0, self.cache_read_tokens - other.cache_read_tokens),
            max(0, self.cache_write_tokens - other.cache_write_tokens),
            self.estimated,
        )

    @property
    def output(self) -> str:
        """The output count as shown: ``380``, or ``~380`` when it is an estimate."""
        return f"{'~' if self.estimated else ''}{self.output_tokens:,}"

    def summary(self) -> str:
        """``in 1,204 · out 380 · cache read 1,100`` (zero cache figures left out; ``out ~380``
        when the output count is an estimate)."""
        parts = [f"in {self.input_tokens:,}", f"out {self.output}"]
        if self.cache_read_tokens:
            parts.append(f"cache read {self.cache_read_tokens:,}")
        if self.cache_write_tokens:
            parts.append(f"cache write {self.cache_write_tokens:,}")
        return " · ".join(parts)


@dataclass(frozen=True)
class ToolNote:
    """A tool call made during a reply, for showing it again: where in the reply text it happened
    (``offset``), what was asked and the one-line outcome."""

    id: str
    name: str
    input: dict[str, Any]
    summary: str = ""
    is_error: bool = False
    offset: int = 0


#: An agent's state as stored: ``queued`` or ``running`` while the turn goes on (``running`` in a
#: turn that ended otherwise means it was interrupted), else how it ended.
AgentState = Literal["queued", "running", "done", "failed", "capped", "stopped", "interrupted"]


@dataclass
class AgentRecord:
    """One agent run inside a turn (a Task call), as stored and shown again: who ran, what it was
    asked, what it wrote, which tools it called, how it ended and what it cost. ``id`` is the
    launching Task call's id: the panel goes under that tool line."""

    id: str
    name: str
    title: str
    color: str = ""
    description: str = ""
    prompt: str = ""
    model: str = ""
    reply: str = ""
    tools: list[ToolNote] = field(default_factory=list)
    state: AgentState = "running"
    why: str = ""
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0

    def segments(self) -> list[str | ToolNote]:
        """The agent's reply in the order it happened: text, a tool call, more text..."""
        return _segments(self.reply, self.tools)


@dataclass
class TurnRecord:
    """One question and its reply, as stored.

    ``user`` holds the content blocks sent for the question (attached documents included);
    ``recorded`` holds the messages this turn contributes to the model's context for later turns
    (empty for a failed turn with nothing worth keeping).
    """

    typed: str
    persona: str
    persona_title: str
    model: str
    files: list[str] = field(default_factory=list)  # attachment labels, e.g. "app/models.py · 412 tokens"
    user: list[dict[str, Any]] = field(default_factory=list)
    reply: str = ""
    tools: list[ToolNote] = field(default_factory=list)
    state: TurnState = "streaming"
    failure: str = ""
    usage: Usage = field(default_factory=Usage)  # the lead's and its agents' together
    recorded: list[dict[str, Any]] = field(default_factory=list)
    agents: list[AgentRecord] = field(default_factory=list)  # in the order the Task calls came
    id: int | None = None
    created: float = 0.0
    updated: float = 0.0

    @property
    def ended_badly(self) -> bool:
        """True when the reply did not finish (stopped, failed, interrupted, cut or declined)."""
        return self.state in ("stopped", "failed", "interrupted", "cut", "refused")

    def segments(self) -> list[str | ToolNote]:
        """The reply in the order it happened: text, a tool call, more text..."""
        return _segments(self.reply, self.tools)

    def agent(self, call_id: str) -> AgentRecord | None:
        """The agent the Task call ``call_id`` launched, if it did."""
        return next((a for a in self.agents if a.id == call_id), None)


def _segments(reply: str, tools: list[ToolNote]) -> list[str | ToolNote]:
    parts: list[str | ToolNote] = []
    start = 0
    for note in sorted(tools, key=lambda n: n.offset):
        offset = min(max(note.offset, start), len(reply))
        if reply[start:offset]:
            parts.append(reply[start:offset])
        parts.append(note)
        start = offset
    if reply[start:]:
        parts.append(reply[start:])
    return parts


@dataclass(frozen=True)
class ConversationSummary:
    """A row of the history screen."""

    id: int
    project: str
    title: str
    persona: str
    model: str
    created: float
    updated: float
    turns: int = 0


@dataclass
class StoredConversation:
    """A conversation with every turn, oldest first."""

    summary: ConversationSummary
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def usage(self) -> Usage:
        """Tokens over every turn."""
        total = Usage()
        for turn in self.turns:
            total = total + turn.usage
        return total

    def messages(self) -> list[dict[str, Any]]:
        """The model's context for the next turn: what each turn contributed, in order."""
        return [message for turn in self.turns for message in turn.recorded]


def estimate_tokens(chars: int) -> int:
    """About how many tokens ``chars`` characters of text took the model to write (never 0 for
    some text)."""
    return -(-max(0, chars) // CHARS_PER_TOKEN)


def make_title(typed: str) -> str:
    """A conversation's title from its first question: the first line, cut at a word."""
    line = next((ln.strip() for ln in typed.splitlines() if ln.strip()), "") or "(empty question)"
    line = " ".join(line.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS - 1].rsplit(" ", 1)[0] or line[: TITLE_CHARS - 1]
    return cut + "…"
