"""Pattern matching that cannot run away: Grep's regular expressions and every glob.

Python's ``re`` backtracks without limit and holds the GIL while it does, so one pattern such as
``(a|aa)+$`` against a line of ``a``s froze the whole app (Esc and Ctrl+Q included). The
``regex`` module takes a ``timeout`` and, with ``concurrent=True``, lets other threads (the
event loop) run while it matches. Every match here is bounded by a deadline; running out of it
is a :class:`PatternTooSlow` the model is told about, so it can write a simpler pattern.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import regex

from buddy_tui.tools.paths import ToolError, glob_regex, show

#: No single match may take longer than this, whatever time the call has left.
MATCH_SECONDS = 2.0

Pattern = regex.Pattern[str]


class PatternTooSlow(ToolError):
    """A pattern needed more time than a tool call has: it backtracks catastrophically, or the
    files are too many for it."""


def compile_pattern(pattern: str, ignore_case: bool = False, multiline: bool = False) -> Pattern:
    """``pattern`` (Python's regular expression syntax) compiled; :class:`ToolError` when invalid."""
    flags = (regex.IGNORECASE if ignore_case else 0) | (regex.MULTILINE if multiline else 0)
    try:
        return regex.compile(pattern, flags | regex.VERSION0)
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        raise ToolError(f"Invalid regular expression {show(pattern)!r}: {exc}.") from None


def _left(deadline: float) -> float:
    return max(0.01, min(MATCH_SECONDS, deadline - time.monotonic()))


def _slow(shown: str, what: str) -> PatternTooSlow:
    return PatternTooSlow(f"The {what} {show(shown)!r} took too long to match and was stopped. "
                          "Simplify it: avoid nested or overlapping repeats such as (a+)+, (a|aa)+ or many "
                          "'*' in a row, and narrow the path.")


def search(pattern: Pattern, text: str, deadline: float) -> regex.Match[str] | None:
    """``pattern.search(text)``, given up (:class:`PatternTooSlow`) at ``deadline`` (time.monotonic)."""
    try:
        return pattern.search(text, timeout=_left(deadline), concurrent=True)
    except TimeoutError:
        raise _slow(pattern.pattern, "pattern") from None


def fullmatch(pattern: Pattern, text: str, deadline: float, glob: str) -> bool:
    """Whether ``pattern`` (made from the glob ``glob``) matches the whole of ``text``, given up at ``deadline``."""
    try:
        return pattern.fullmatch(text, timeout=_left(deadline), concurrent=True) is not None
    except TimeoutError:
        raise _slow(glob, "glob") from None


def name_filter(glob: str | None, deadline: float) -> Callable[[str], bool] | None:
    """A test for project-relative paths: by file name, or by whole path when the glob has a '/';
    each test is bounded by ``deadline``."""
    if glob is None:
        return None
    if not isinstance(glob, str) or not glob:
        raise ToolError("The glob filter must be a non-empty string such as '*.py'.")
    matcher = glob_regex(glob)
    if "/" in glob:
        return lambda rel: fullmatch(matcher, rel, deadline, glob)
    return lambda rel: fullmatch(matcher, rel.rsplit("/", 1)[-1], deadline, glob)
