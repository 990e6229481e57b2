"""The context budget: will this request fit in the model's context window, and what to cut if not.

Tokens are counted by the API's count_tokens endpoint when a request gets anywhere near the limit
and the endpoint answers; otherwise by :func:`estimate_tokens` (3.5 characters a token, rounded
up). Nothing is ever cut silently: the UI asks the user what to drop or shorten.
"""

from __future__ import annotations

import asyncio
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
        return _texts(value.get("text")) + _texts(value.get("content"))
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
