"""Fuzzy matching for completion: the typed letters must appear in order; tighter, earlier and
word-start matches rank higher (the way editors' "go to file" boxes behave).

Why not ``textual.fuzzy``: the users are below the UI (slash-command completion in
personas/commands.py, persona names in conversation/session.py), which must not load Textual
(tests/test_packaging.py); and on 55 command names one keystroke took 27 µs here against 137 µs
with ``textual.fuzzy.Matcher`` (median of 50 runs over 12 typed prefixes, Textual 8.2.8). The
project finder has its own matcher, for the same reason at a larger scale (context/index.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T")
_SEPARATORS = frozenset(":/_-. ")


def fuzzy_score(query: str, candidate: str) -> float | None:
    """A score (higher is better) when every character of ``query`` appears in order in
    ``candidate``, else None. Case-insensitive; an empty query matches everything equally."""
    query, text = query.lower(), candidate.lower()
    if not query:
        return 0.0
    if text.startswith(query):
        return 1000.0 - len(text)
    score = 0.0
    position = 0
    previous = -2
    for char in query:
        found = text.find(char, position)
        if found < 0:
            return None
        if found == previous + 1:
            score += 5  # consecutive letters
        if found == 0 or text[found - 1] in _SEPARATORS:
            score += 8  # start of a word or segment
        score -= (found - position) * 0.5  # letters skipped
        previous, position = found, found + 1
    if query in text:
        score += 50
    return score - len(text) * 0.1


def fuzzy_filter(query: str, items: Iterable[T], key: Callable[[T], str]) -> list[T]:
    """The items matching ``query``, best first (ties keep their original order)."""
    scored: list[tuple[float, int, T]] = []
    for index, item in enumerate(items):
        result = fuzzy_score(query, key(item))
        if result is not None:
            scored.append((result, index, item))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))
    return [item for _, _, item in scored]


def best_matches(query: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """The closest few names, for 'did you mean' messages."""
    return fuzzy_filter(query, names, str)[:limit]
