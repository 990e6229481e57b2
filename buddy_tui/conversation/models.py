"""Which models can be chosen: the API's own list when it answers, else the ones the installed
SDK knows; and whether a name someone typed is one the endpoint offers. The SDK is imported
only when a list is asked for (never at start)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

_DATED = re.compile(r"-\d{8}$")
#: More than any endpoint lists; a server whose pages never end stops here.
MAX_LISTED = 2_000
#: How long a check may wait for the endpoint's list (the SDK's own default is ten minutes).
CHECK_TIMEOUT = 15.0


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
    """Every model the endpoint lists (Anthropic's API, or a compatible local server), page by page."""
    found: list[ModelChoice] = []
    async for model in client.models.list(limit=100):
        label = getattr(model, "display_name", "") or ""
        found.append(ModelChoice(model.id, label if label != model.id else ""))
        if len(found) >= MAX_LISTED:
            break
    return found


Verdict = Literal["listed", "unknown", "unverified"]


@dataclass(frozen=True)
class ModelCheck:
    """What the endpoint says of a model name someone typed.

    ``listed``: it offers that model (by id, or an alias of one); ``unknown``: its list does not
    have it (``close`` holds the nearest names, ``offered`` some it does have); ``unverified``: the
    list could not be had (``reason`` says why), so nobody knows.
    """

    name: str
    verdict: Verdict
    close: tuple[str, ...] = ()
    offered: tuple[str, ...] = ()
    reason: str = ""

    def describe(self, where: str) -> str:
        """One or two sentences for the user; ``where`` names the endpoint."""
        if self.verdict == "listed":
            return f"{where[:1].upper()}{where[1:]} offers {self.name}."
        if self.verdict == "unverified":
            return f"Could not check {self.name} against the model list of {where} ({self.reason})."
        if self.close:
            hint = f" Did you mean {_either(self.close)}?"
        else:
            more = "…" if len(self.offered) == 8 else ""
            hint = f" It offers {', '.join(self.offered)}{more}." if self.offered else ""
        return f"{where[:1].upper()}{where[1:]} does not offer a model called {self.name}.{hint}"


def _either(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _aliases(model_id: str) -> list[str]:
    """Other names that reach ``model_id``: its undated alias (``claude-haiku-4-5`` for
    ``claude-haiku-4-5-20251001``) and, for a local server such as Ollama, the name without ``:latest``."""
    return [name for name in (_DATED.sub("", model_id), model_id.removesuffix(":latest")) if name != model_id]


def close_models(name: str, ids: list[str], cutoff: float = 0.75) -> tuple[str, ...]:
    """Up to three models nearest to ``name`` (a typo, another version), best first, each by its
    shortest name (the alias where there is one). Every Claude id shares ``claude-``, so the bar
    is high: a name like no model gets no suggestion, and the caller lists what there is instead."""
    scored = []
    for model_id in ids:
        names = [*_aliases(model_id), model_id]
        score = max(difflib.SequenceMatcher(None, name, candidate).ratio() for candidate in names)
        if score >= cutoff:
            scored.append((-score, min(names, key=len)))
    return tuple(dict.fromkeys(shown for _, shown in sorted(scored)))[:3]


async def check_model(client: AsyncAnthropic, name: str) -> ModelCheck:
    """Whether the endpoint offers the model ``name``: first its list, then (for an alias the list
    does not show, or a model no longer listed) the endpoint's own lookup of that one name."""
    import anthropic

    checking = client.with_options(timeout=CHECK_TIMEOUT, max_retries=1)
    try:
        ids = [model.id for model in await listed_models(checking)]
    except Exception as exc:  # no list at this endpoint, unreachable, unauthorised...
        return ModelCheck(name, "unverified", reason=_why_unlisted(exc))
    if not ids:
        return ModelCheck(name, "unverified", reason="its model list is empty")
    if name in ids or any(name in _aliases(model_id) for model_id in ids):
        return ModelCheck(name, "listed")
    if re.fullmatch(r"[\w.:-]+", name):  # the lookup puts the name in the URL's path
        try:
            await checking.models.retrieve(name)
        except anthropic.APIStatusError as exc:
            if exc.status_code != 404:  # only "no such model" says no; a 5xx or a 429 says nothing
                return ModelCheck(name, "unverified", reason=_why_unlisted(exc))
        except Exception as exc:  # a timeout or a dropped connection: the answer is unknown, not "no"
            return ModelCheck(name, "unverified", reason=_why_unlisted(exc))
        else:
            return ModelCheck(name, "listed")
    offered = tuple(min([*_aliases(model_id), model_id], key=len) for model_id in ids[:8])
    return ModelCheck(name, "unknown", close=close_models(name, ids), offered=offered)


def _why_unlisted(exc: BaseException) -> str:
    """Why the model list could not be read, in a few words."""
    import anthropic

    from buddy_tui.conversation.errors import describe_error

    if isinstance(exc, anthropic.APIStatusError) and exc.status_code in (404, 405, 501):
        return f"it does not serve one: {exc.status_code} for GET /v1/models"
    return describe_error(exc).title.rstrip(".")
