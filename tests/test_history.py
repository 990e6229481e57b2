"""The history database: schema and migrations, concurrent windows, crash detection, search,
damage, and the API key never reaching the file."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from buddy_tui.store.history import MIGRATIONS, SCHEMA_VERSION, HistoryError, Store, open_store
from buddy_tui.store.records import ToolNote, TurnRecord, Usage
from tests.helpers import dead_owner


def turn(typed: str = "How do I paginate?") -> TurnRecord:
    return TurnRecord(typed=typed, persona="backend", persona_title="Backend Buddy", model="claude-test",
                      user=[{"type": "text", "text": typed}])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "history.sqlite3")


def test_a_new_database_is_migrated_private_and_in_wal_mode(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.create_conversation("/p", "t", "backend", "m")  # the WAL file now exists too
    for path in (store.path, store.path.with_name(store.path.name + "-wal")):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
    assert store.integrity() == "ok"


def test_a_database_from_a_newer_buddy_tui_is_refused_not_damaged(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(HistoryError, match="newer buddy-tui"):
        Store(path)
    store, problem = open_store(path)
    assert store is None and "History is off" in problem
    assert path.exists()  # left alone for the newer version


def test_a_damaged_file_is_moved_aside_and_a_fresh_database_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database, just some bytes" * 200)
    store, problem = open_store(path)
    assert store is not None and store.integrity() == "ok"
    assert "moved to" in problem
    aside = [p for p in tmp_path.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")


def test_an_unusable_folder_leaves_history_off_with_the_reason(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store, problem = open_store(blocker / "history.sqlite3")
    assert store is None and "History is off" in problem and str(blocker) in problem


def test_turns_round_trip_with_tools_usage_and_context(store: Store) -> None:
    conversation = store.create_conversation("/p", "How do I paginate?", "backend", "claude-test")
    record = turn()
    store.begin_turn(conversation, record)
    assert record.id is not None and record.state == "streaming"
    record.reply = "Use a cursor. Then read the code."
    record.tools = [ToolNote("t1", "Read", {"path": "app.py"}, "Read app.py · 3 lines", False, 14)]
    record.usage = Usage(10, 20, 30, 40)
    record.state = "complete"
    record.recorded = [{"role": "user", "content": record.user},
                       {"role": "assistant", "content": [{"type": "text", "text": record.reply}]}]
    store.save_turn(record)
    loaded = store.load(conversation)
    assert loaded is not None
    (back,) = loaded.turns
    assert (back.reply, back.tools, back.usage, back.state) == (record.reply, record.tools, record.usage, "complete")
    assert loaded.messages() == record.recorded
    assert loaded.summary.turns == 1 and loaded.summary.title == "How do I paginate?"
    assert back.segments() == ["Use a cursor. ", record.tools[0], "Then read the code."]


def test_an_estimated_count_and_the_new_endings_are_kept(store: Store) -> None:
    conversation = store.create_conversation("/p", "t", "backend", "m")
    for state, usage in (("stopped", Usage(10, 7, estimated=True)), ("cut", Usage(10, 64)), ("refused", Usage(10))):
        record = turn()
        store.begin_turn(conversation, record)
        record.state, record.usage = state, usage  # type: ignore[assignment]
        store.save_turn(record)
    loaded = store.load(conversation)
    assert loaded is not None
    assert [(t.state, t.usage) for t in loaded.turns] == [
        ("stopped", Usage(10, 7, estimated=True)), ("cut", Usage(10, 64)), ("refused", Usage(10))]
    assert loaded.usage == Usage(30, 71, estimated=True) and loaded.usage.summary() == "in 30 · out ~71"


def test_a_database_of_the_first_schema_gains_the_estimate_column(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";"):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute("INSERT INTO conversations (project, title, created, updated) VALUES ('/p', 't', 0, 0)")
    old.execute("INSERT INTO turns (conversation, seq, typed, persona, persona_title, model, state, output_tokens, "
                "created, updated) VALUES (1, 1, 'q', 'backend', 'Backend', 'm', 'complete', 5, 0, 0)")
    old.commit()
    old.close()
    loaded = Store(path).load(1)
    assert loaded is not None and loaded.turns[0].usage == Usage(0, 5)  # kept, and counted as exact


def test_search_covers_titles_questions_and_answers_and_treats_wildcards_literally(store: Store) -> None:
    first = store.create_conversation("/p", "Pagination", "backend", "m")
    record = turn("what about 100% coverage?")
    store.begin_turn(first, record)
    record.reply, record.state = "Aim for the critical paths with idempotency keys.", "complete"
    store.save_turn(record)
    second = store.create_conversation("/p", "Indexes", "backend", "m")
    store.create_conversation("/other", "Pagination elsewhere", "backend", "m")
    assert [c.id for c in store.conversations("/p", "IDEMPOTENCY")] == [first]
    assert [c.id for c in store.conversations("/p", "100%")] == [first]
    assert store.conversations("/p", "1_0") == []  # '_' is not a wildcard
    assert [c.id for c in store.conversations("/p", "index")] == [second]
    assert len(store.conversations(None, "pagination")) == 2
    assert [c.id for c in store.conversations("/p")] == [second, first]  # newest first


def test_rename_and_delete_remove_the_turns_too(store: Store) -> None:
    conversation = store.create_conversation("/p", "old", "backend", "m")
    store.begin_turn(conversation, turn())
    store.rename(conversation, "  Cursor pagination  ")
    assert (latest := store.latest("/p")) is not None and latest.title == "Cursor pagination"
    store.delete(conversation)
    assert store.load(conversation) is None
    assert store._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0


def test_a_turn_owned_by_a_dead_process_is_found_once_as_interrupted(store: Store) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    record.reply = "Half an ans"
    store.save_turn(record)
    assert store.interrupted("/p") == []  # this process is alive: still streaming, not a crash
    store._db.execute("UPDATE turns SET owner = ? WHERE id = ?", (dead_owner(), record.id))
    found = store.interrupted("/p")
    assert [c.id for c in found] == [conversation]
    loaded = store.load(conversation)
    assert loaded is not None and loaded.turns[0].state == "interrupted" and loaded.turns[0].reply == "Half an ans"
    assert store.interrupted("/p") == []  # reported once


def test_another_project_s_crash_is_not_reported_here(store: Store) -> None:
    conversation = store.create_conversation("/elsewhere", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    store._db.execute("UPDATE turns SET owner = 'otherhost:1:1', updated = 0 WHERE id = ?", (record.id,))
    assert store.interrupted("/p") == []
    assert [c.id for c in store.interrupted("/elsewhere")] == [conversation]  # stale on another host


def test_two_windows_write_the_same_database_while_one_holds_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first, second = Store(path), Store(path)
    holding, writing = threading.Event(), threading.Event()
    events: list[str] = []
    # The first window's connection reports each statement as it starts (on its own thread).
    first._db.set_trace_callback(lambda sql: writing.set() if sql.startswith("BEGIN IMMEDIATE") else None)

    def hold_the_write_lock() -> None:
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        holding.set()
        # Hold it until the other window's write has begun, and so must wait for it.
        events.append("released" if writing.wait(30) else "released without a writer")
        db.execute("COMMIT")
        db.close()

    thread = threading.Thread(target=hold_the_write_lock)
    thread.start()
    holding.wait()
    a = first.create_conversation("/p", "from window one", "backend", "m")  # waits for the lock
    events.append("written")
    first._db.set_trace_callback(None)
    thread.join()
    assert events == ["released", "written"]
    b = second.create_conversation("/p", "from window two", "backend", "m")
    first.begin_turn(a, turn())
    second.begin_turn(a, turn("a second window adds to the same conversation"))
    loaded = first.load(a)
    assert loaded is not None and len(loaded.turns) == 2
    assert {c.title for c in second.conversations("/p")} == {"from window one", "from window two"}
    assert b != a and first.integrity() == "ok"


def test_the_api_key_never_reaches_the_database(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-api03-SECRETSECRETSECRET"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    conversation = store.create_conversation("/p", f"title {key}", "backend", "m")
    record = turn(f"my key is {key}")
    record.user = [{"type": "text", "text": f"env has {key}"}]
    store.begin_turn(conversation, record)
    record.reply, record.failure, record.state = f"echo {key}", f"failed {key}", "failed"
    record.recorded = [{"role": "user", "content": record.user}]
    store.save_turn(record)
    store.close()
    raw = b"".join(p.read_bytes() for p in store.path.parent.iterdir() if p.name.startswith("history"))
    assert b"SECRETSECRET" not in raw
    assert b"ANTHROPIC_API_KEY" in raw  # replaced by the variable's name, so the text still reads


def test_windows_opening_a_new_database_at_the_same_moment_all_get_history(tmp_path: Path) -> None:
    path, go = tmp_path / "history.sqlite3", tmp_path / "go"
    script = ("import sys, time, pathlib\n"
              "from buddy_tui.store.history import Store\n"
              "go = pathlib.Path(sys.argv[2])\n"
              "print('ready', flush=True)\n"
              "while not go.exists(): time.sleep(0.001)\n"
              "store = Store(pathlib.Path(sys.argv[1]))\n"
              "store.create_conversation('/p', 'window', 'backend', 'm')\n"
              "print('ok')\n")
    windows = [subprocess.Popen([sys.executable, "-c", script, str(path), str(go)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(5)]
    for window in windows:  # every process has started and waits at the line
        assert window.stdout is not None and window.stdout.readline() == "ready\n"
    go.touch()
    results = [w.communicate(timeout=60) for w in windows]
    assert [out.strip() for out, _ in results] == ["ok"] * 5, [err for _, err in results]
    store = Store(path)
    assert len(store.conversations("/p")) == 5 and store.integrity() == "ok"


def test_a_turn_owned_by_a_killed_process_not_yet_reaped_is_interrupted(store: Store) -> None:
    """kill -9 leaves a zombie until its parent reaps it; it still answers a signal 0."""
    import signal
    import socket

    from buddy_tui.store.history import _started

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = _started(child.pid)
        child.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        conversation = store.create_conversation("/p", "q", "backend", "m")
        record = turn()
        store.begin_turn(conversation, record)
        store._db.execute("UPDATE turns SET owner = ? WHERE id = ?",
                          (f"{socket.gethostname()}:{child.pid}:{started}", record.id))
        assert [c.id for c in store.interrupted("/p")] == [conversation]
    finally:
        child.wait()
