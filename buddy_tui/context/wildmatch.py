"""Git wildmatch patterns (``.gitignore`` lines, persona trigger globs) matched in linear time.

A repository writes these patterns, so they must not be able to freeze the app. pathspec turns
each into a regular expression, and Python's ``re`` backtracks: ``*a*a*a…b`` (25 stars) against a
30-character name took 9 s, and longer names never finish. pathspec can match with RE2 instead
(google-re2), whose time is linear in the name whatever the pattern, so that is what is asked for.
Should RE2 be missing (an install without its wheel), patterns with more wildcards than a real
``.gitignore`` uses are left out and named, and the rest match with ``re``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pathspec

#: Without RE2, a pattern with more runs of ``*`` than this is not used (real ones have two or three).
MAX_WILDCARD_RUNS = 3

_STAR_RUNS = re.compile(r"\*+")


def _re2() -> Any | None:
    """The RE2 module, or None when it cannot be loaded."""
    try:
        import re2  # type: ignore[import-untyped]
    except Exception:  # a missing module or a broken build: either way, no RE2
        return None
    return re2


def too_wild(line: str) -> bool:
    """Whether a pattern has too many wildcards to match safely with a backtracking engine."""
    return len(_STAR_RUNS.findall(line)) > MAX_WILDCARD_RUNS


def matchable(path: str) -> str:
    """``path`` as RE2 can take it: a name that is not valid UTF-8 (kept by Python as surrogates)
    has those characters replaced, one for one, so wildcards still line up."""
    if path.isascii():
        return path
    return path.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True)
class WildSpec:
    """A .gitignore's patterns in one or more pathspec specs (RE2 compiles a set of limited size);
    the last pattern that matches decides, as in git."""

    parts: tuple[pathspec.GitIgnoreSpec, ...]

    def check(self, path: str) -> bool | None:
        """True: ignored; False: re-included by a ``!`` pattern; None: no pattern matches."""
        path = matchable(path)
        for spec in reversed(self.parts):
            include = spec.check_file(path).include
            if include is not None:
                return bool(include)
        return None

    @property
    def patterns(self) -> list[Any]:
        return [pattern for spec in self.parts for pattern in spec.patterns]


#: A part that RE2 still cannot compile at this size is read with ``re`` (and the wildcard limit).
_SMALLEST_PART = 64


def gitignore_spec(lines: Iterable[str]) -> tuple[WildSpec, list[str]]:
    """The spec of ``lines``, matching in linear time, and the lines left out: patterns git itself
    would reject, and (only where RE2 cannot be used) those with too many wildcards."""
    import pathspec  # loaded on first use (off the UI thread)

    lines = list(lines)
    dropped: list[str] = []
    try:
        pathspec.GitIgnoreSpec.from_lines(lines, backend="simple")
    except Exception:  # some line is not a valid pattern: keep the ones that are
        lines, dropped = _valid(lines)
    if _re2() is None:
        return _guarded(lines, dropped)
    parts: list[pathspec.GitIgnoreSpec] = []
    pending = [lines]
    while pending:
        chunk = pending.pop(0)
        try:
            parts.append(pathspec.GitIgnoreSpec.from_lines(chunk, backend="re2"))
        except Exception:  # RE2's set grew past its memory budget: compile the halves apart
            if len(chunk) <= _SMALLEST_PART:
                guarded, dropped = _guarded(chunk, dropped)
                parts += guarded.parts
            else:
                half = len(chunk) // 2
                pending[:0] = [chunk[:half], chunk[half:]]
    return WildSpec(tuple(parts)), dropped


def _valid(lines: list[str]) -> tuple[list[str], list[str]]:
    import pathspec

    kept: list[str] = []
    bad: list[str] = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line], backend="simple")
        except Exception:
            bad.append(line)
        else:
            kept.append(line)
    return kept, bad


def _guarded(lines: list[str], dropped: list[str]) -> tuple[WildSpec, list[str]]:
    """A spec matched by ``re`` of the lines with few enough wildcards; the others are dropped."""
    import pathspec

    kept = [line for line in lines if not too_wild(line)]
    spec = pathspec.GitIgnoreSpec.from_lines(kept, backend="simple")
    return WildSpec((spec,)), dropped + [line for line in lines if too_wild(line)]


def any_of(patterns: Iterable[str]) -> Any | None:
    """One compiled expression matching where any of ``patterns`` (regex sources) does, for a quick
    "nothing applies" answer; RE2 when available, else ``re`` (only safe for patterns that
    :func:`gitignore_spec` kept). None when they cannot be joined."""
    joined = "|".join(f"(?:{pattern})" for pattern in patterns) or "(?!)"
    engine = _re2()
    if engine is not None:
        if joined == "(?!)":
            joined = "[^\\s\\S]"  # RE2 has no look-ahead: a class that matches nothing
        try:
            return engine.compile(joined)
        except Exception:
            return None
    try:
        return re.compile(joined)
    except re.error:
        return None
