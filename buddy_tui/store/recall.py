"""Prompt history: the questions the user can walk back through with up and down.

:class:`QuestionHistory` holds what was sent in this window plus, read on first use, the
project's earlier questions from the history database (:func:`earlier_questions`), and keeps the
draft being written while the user looks back, so going forward again restores it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from buddy_tui.store.history import Store
    from buddy_tui.store.records import TurnRecord

#: How many questions the prompt remembers; older ones drop off.
HISTORY_LIMIT = 200
#: How many of the project's most recent conversations are read for earlier questions.
CONVERSATIONS_READ = 10


def earlier_questions(store: Store, project: str, before: float, limit: int = HISTORY_LIMIT) -> list[str]:
    """The questions asked in ``project`` before ``before`` (a ``time.time()``), oldest first, at
    most ``limit``. Recall is a convenience: a database that cannot be read gives none."""
    turns: list[TurnRecord] = []
    try:
        for summary in store.conversations(project, limit=CONVERSATIONS_READ):
            if summary.created >= before:
                continue  # started in this window: its questions are in the window's own list
            stored = store.load(summary.id)
            if stored is not None:
                turns += [t for t in stored.turns if t.created < before and t.typed.strip()]
            if len(turns) >= limit:
                break
    except (sqlite3.Error, ValueError, TypeError, KeyError):  # unreadable, or a damaged row
        return []
    turns.sort(key=lambda t: t.created)
    questions: list[str] = []
    for turn in turns:
        if not questions or questions[-1] != turn.typed:
            questions.append(turn.typed)
    return questions[-limit:]


class QuestionHistory:
    """Questions oldest first, a position while walking them, and the draft set aside meanwhile."""

    def __init__(self, earlier: Callable[[], list[str]] | None = None, limit: int = HISTORY_LIMIT) -> None:
        self.entries: list[str] = []
        self.limit = limit
        self._earlier = earlier  # read the first time the user goes back, not at start-up
        self._position: int | None = None  # None: the draft is showing
        self._draft = ""

    @property
    def browsing(self) -> bool:
        """True while an earlier question (not the draft) is showing."""
        return self._position is not None

    def add(self, question: str) -> None:
        """Remember a sent question (once, when it repeats the last one); the walk starts over."""
        self._load()
        if question.strip() and (not self.entries or self.entries[-1] != question):
            self.entries.append(question)
            del self.entries[: -self.limit]
        self._position = None
        self._draft = ""

    def older(self, current: str) -> str | None:
        """The question before the one showing (``current`` is kept as the draft when leaving it);
        None when there is nothing older."""
        self._load()
        if self._position is None:
            if not self.entries:
                return None
            self._draft = current
            self._position = len(self.entries) - 1
        elif self._position == 0:
            return None
        else:
            self._position -= 1
        return self.entries[self._position]

    def newer(self) -> str | None:
        """The question after the one showing, or the draft after the newest; None when the
        draft already shows."""
        if self._position is None:
            return None
        if self._position < len(self.entries) - 1:
            self._position += 1
            return self.entries[self._position]
        self._position = None
        return self._draft

    def edited(self, current: str) -> None:
        """The prompt now holds ``current``: once the user changes a recalled question, it is
        their draft (up keeps it, down does not replace it)."""
        if self._position is not None and current != self.entries[self._position]:
            self._position = None

    def _load(self) -> None:
        if self._earlier is not None:
            earlier, self._earlier = self._earlier(), None
            self.entries[:0] = earlier  # before any walk has begun, so no position shifts
            del self.entries[: -self.limit]
