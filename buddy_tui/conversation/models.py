"""Which models can be chosen: the API's own list when it answers, else the ones the installed
SDK knows. The SDK is imported only when a list is asked for (never at start)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

_DATED = re.compile(r"-\d{8}$")


@dataclass(frozen=True)
class ModelChoice:
    """A model id, and the name to show beside it."""

    id: str
    label: str = ""


def known_models() -> list[ModelChoice]:
    """The current Claude models the installed SDK names (its undated aliases, newest first)."""
    from typing import get_args

    from anthropic.types import Model

    names = [value for arg in get_args(Model) for value in get_args(arg) if isinstance(value, str)]
    aliases = sorted({name for name in names if name.startswith("claude-") and not _DATED.search(name)},
                     key=_newest_first)
    return [ModelChoice(name) for name in aliases]


def _newest_first(name: str) -> tuple[tuple[int, ...], str]:
    numbers = tuple(-int(n) for n in re.findall(r"\d+", name))
    return numbers, name


async def listed_models(client: AsyncAnthropic) -> list[ModelChoice]:
    """Every model the endpoint lists (Anthropic's API, or a compatible local server)."""
    found: list[ModelChoice] = []
    async for model in client.models.list(limit=100):
        label = getattr(model, "display_name", "") or ""
        found.append(ModelChoice(model.id, label if label != model.id else ""))
    return found
