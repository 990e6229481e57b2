"""The context budget: will this request fit in the model's context window, and what to cut if not.

Tokens are counted by the API's count_tokens endpoint when a request gets anywhere near the limit
and the endpoint answers; otherwise by :func:`estimate_tokens` (3.5 characters a token, rounded
up). Nothing is ever cut silently: the UI asks the user what to drop or shorten.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from buddy_tui.context.attachments import Attachment, estimate_tokens
from buddy_tui.settings.config_file import DEFAULT_CONTEXT_BUDGET, load_config

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

#: Every current Claude model takes at least this many input tokens.
DEFAULT_CONTEXT_WINDOW = DEFAULT_CONTEXT_BUDGET
#: Below this share of the window the estimate alone decides; above it the API is asked.
COUNT_WITH_API_ABOVE = 0.5
COUNT_TIMEOUT = 5.0
#: The most tool calls one round of a turn runs; the model hears that the others were not run.
MAX_TOOL_CALLS_PER_ROUND = 16
#: The share of the context window that the tool results of one round may fill, together.
ROUND_RESULTS_SHARE = 0.25
#: Characters a token, as :func:`estimate_tokens` counts them.
CHARS_PER_TOKEN = 3.5


@dataclass(frozen=True)
class Budget:
    """How a request measures up against the window."""

    used: int  # input tokens of the request
    reserve: int  # room kept for the reply (max_tokens)
    limit: int  # the context window
    counted_by: Literal["api", "estimate"]

    @property
    def over_by(self) -> int:
        """Tokens to remove before the request fits (0 when it fits)."""
        return max(0, self.used + self.reserve - self.limit)

    def describe(self) -> str:
        """``205,310 of 200,000 tokens (8,192 kept for the reply), counted by the API``."""
        how = "counted by the API" if self.counted_by == "api" else "estimated"
        return (f"{self.used + self.reserve:,} of {self.limit:,} tokens "
                f"({self.reserve:,} kept for the reply), {how}")


def context_window(env: Mapping[str, str] | None = None) -> int:
    """The window to budget against: ``BUDDY_TUI_CONTEXT_BUDGET`` if set, else config.toml's
    ``context_budget``, else the default. Read afresh each time, so an edit counts at once; a wrong
    value falls back quietly here (the session reports it when it opens)."""
    return load_config(env=env)[0].context_budget


def _texts(value: Any) -> list[str]:
    """The text a request carries: system blocks, message contents and text blocks; not the
    bookkeeping (types, roles, cache markers)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        found = _texts(value.get("text")) + _texts(value.get("content"))
        if value.get("type") == "tool_use":  # a tool call's input goes back with every later request
            found.append(json.dumps(value.get("input"), ensure_ascii=False, default=str))
        return found
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def estimate_request(request: dict[str, Any]) -> int:
    """Estimated input tokens of a Messages request (its system prompt and messages)."""
    return sum(estimate_tokens(text) for text in _texts([request.get("system"), request.get("messages")]))


async def measure(client: AsyncAnthropic | None, request: dict[str, Any], limit: int) -> Budget:
    """Measure ``request``; ask the API only when the estimate comes near the limit."""
    estimate = estimate_request(request)
    reserve = int(request.get("max_tokens", 0))
    if client is None or estimate + reserve < limit * COUNT_WITH_API_ABOVE:
        return Budget(estimate, reserve, limit, "estimate")
    try:
        counted = await asyncio.wait_for(client.messages.count_tokens(
            model=request["model"], system=request["system"], messages=request["messages"]), COUNT_TIMEOUT)
    except Exception:  # unreachable, unsupported by a local server, timed out: the estimate stands
        return Budget(estimate, reserve, limit, "estimate")
    return Budget(int(counted.input_tokens), reserve, limit, "api")


def shorten_largest(attachments: Sequence[Attachment], over_by: int) -> list[Attachment]:
    """Keep only the head of the largest attachment, cut by enough tokens (plus a small margin)
    to remove ``over_by``; the attachment says it was truncated. Raises ValueError when even
    dropping that file entirely would not be enough."""
    if not attachments:
        raise ValueError("nothing attached to shorten")
    largest = max(attachments, key=lambda a: a.tokens)
    keep_tokens = largest.tokens - over_by - over_by // 10 - 200  # a margin: counts and estimates differ
    if keep_tokens <= 0:
        raise ValueError(f"{largest.path} would have to go entirely")
    keep_chars = keep_tokens * 7 // 2
    head = largest.text[:keep_chars].rsplit("\n", 1)[0] if "\n" in largest.text[:keep_chars] else \
        largest.text[:keep_chars]
    short = replace(largest, text=head, truncated=True)
    return [short if a is largest else a for a in attachments]


@dataclass(frozen=True)
class RoundLimits:
    """What one round of tool calls may add to a turn, so that every request of the turn, not
    only its first, stays within the context window: at most ``max_calls`` calls run, their
    results fill at most ``max_result_chars`` characters together, and a follow-up request that
    would still not fit (``window`` tokens) is not sent."""

    window: int
    max_calls: int = MAX_TOOL_CALLS_PER_ROUND
    max_result_chars: int = 0

    @classmethod
    def for_window(cls, window: int) -> RoundLimits:
        """The limits for a context window of ``window`` tokens."""
        return cls(window, MAX_TOOL_CALLS_PER_ROUND, max(4_000, int(window * ROUND_RESULTS_SHARE * CHARS_PER_TOKEN)))

    def over(self, request: dict[str, Any]) -> Budget | None:
        """The estimate of a follow-up ``request`` when it does not fit the window; else None."""
        measured = Budget(estimate_request(request), int(request.get("max_tokens", 0)), self.window, "estimate")
        return measured if measured.over_by else None


def fit_results(contents: Sequence[str], allowance: int) -> list[str]:
    """``contents`` (one round's tool results) shortened to ``allowance`` characters together,
    each cut one ending with a note the model can read. Small results stay whole; the room left
    is shared evenly among the larger ones."""
    sizes = [len(c) for c in contents]
    if sum(sizes) <= allowance:
        return list(contents)
    keep = dict.fromkeys(range(len(contents)), 0)
    room, waiting = allowance, sorted(range(len(contents)), key=lambda i: sizes[i])
    while waiting:
        share = room // len(waiting)
        index = waiting.pop(0)
        keep[index] = min(sizes[index], share)
        room -= keep[index]
    return [c if keep[i] >= sizes[i] else _cut(c, keep[i], allowance) for i, c in enumerate(contents)]


def _cut(text: str, keep: int, allowance: int) -> str:
    note = (f"\n[buddy-tui cut this tool result: {len(text) - keep:,} of {len(text):,} characters left out, "
            f"because the results of one round of tool calls may hold at most {allowance:,} characters in all. "
            "Ask for less at a time: a narrower pattern, fewer files, or Read with offset and limit.]")
    head = text[: max(0, keep - len(note))]
    return head + note
