"""Prompt history without a UI: walking questions back and forth, keeping the draft, and reading
the project's earlier questions from the history database."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from buddy_tui.store.history import Store
from buddy_tui.store.recall import QuestionHistory, earlier_questions
from buddy_tui.store.records import TurnRecord


def test_walking_back_and_forward_returns_to_the_draft() -> None:
    history = QuestionHistory()
    assert history.older("draft") is None  # nothing asked yet
    history.add("one")
    history.add("two")
    assert history.older("my draft") == "two"
    assert history.browsing
    assert history.older("two") == "one"
    assert history.older("one") is None
    assert history.newer() == "two"
    assert history.newer() == "my draft"
    assert not history.browsing
    assert history.newer() is None


def test_repeats_and_blank_questions_are_kept_once_and_the_oldest_drop_off() -> None:
    history = QuestionHistory(limit=3)
    for question in ["a", "a", "  ", "b", "c", "d"]:
        history.add(question)
    assert history.entries == ["b", "c", "d"]


def test_an_edited_question_becomes_the_draft() -> None:
    history = QuestionHistory()
    history.add("one")
    assert history.older("") == "one"
    history.edited("one")  # unchanged: still walking
    assert history.browsing
    history.edited("one more")
    assert not history.browsing
    assert history.older("one more") == "one"
    assert history.newer() == "one more"


def test_earlier_questions_are_read_once_and_come_before_this_windows() -> None:
    reads: list[int] = []

    def earlier() -> list[str]:
        reads.append(1)
        return ["old one", "old two"]

    history = QuestionHistory(earlier)
    assert reads == []  # nothing is read at start-up
    history.add("new")
    assert history.older("") == "new"
    assert history.older("new") == "old two"
    history.add("newer")
    assert history.entries == ["old one", "old two", "new", "newer"]
    assert reads == [1]


def store_question(store: Store, project: str, question: str, created: float) -> None:
    conversation = store.create_conversation(project, question, "backend", "claude")
    record = TurnRecord(question, "backend", "Backend", "claude")
    store.begin_turn(conversation, record)
    with sqlite3.connect(store.path) as db:  # back-date it, as if asked in an earlier window
        db.execute("UPDATE turns SET created = ? WHERE id = ?", (created, record.id))
        db.execute("UPDATE conversations SET created = ? WHERE id = ?", (created, conversation))


def test_earlier_questions_of_a_project_oldest_first_and_only_before_the_window(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.db")
    now = time.time()
    store_question(store, "/p", "second", now - 50)
    store_question(store, "/p", "first", now - 100)
    store_question(store, "/other", "elsewhere", now - 70)
    store_question(store, "/p", "second", now - 40)  # asked twice in a row: once
    store_question(store, "/p", "in this window", now + 5)
    assert earlier_questions(store, "/p", now) == ["first", "second"]
    assert earlier_questions(store, "/p", now, limit=1) == ["second"]
    store.close()


def test_a_database_that_cannot_be_read_gives_no_earlier_questions(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.db")
    store_question(store, "/p", "first", time.time() - 10)
    store.close()  # reading a closed connection raises sqlite3.ProgrammingError
    assert earlier_questions(store, "/p", time.time()) == []
