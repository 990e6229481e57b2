"""Conversation history in SQLite, so no question or reply is lost, not even to ``kill -9``.

One database in the data folder serves every project and every buddy-tui window: WAL lets one
window write while others read, and the busy timeout makes a second writer wait its turn instead
of failing. ``PRAGMA user_version`` numbers the schema; :data:`MIGRATIONS` brings an older file
up to date. A streaming reply is rewritten in place as it grows (see core/turnlog.py); in WAL mode
each commit is in the log file before the call returns, so killing the process loses at most what
arrived since the last checkpoint. The owner column names the process writing a streaming turn,
so the next start can tell a dead writer's turn from one another window is still streaming.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from buddy_tui.settings.crash_reports import scrub
from buddy_tui.store import rows
from buddy_tui.store.records import AgentRecord, ConversationSummary, StoredConversation, TurnRecord

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE conversations (
        id INTEGER PRIMARY KEY,
        project TEXT NOT NULL,
        title TEXT NOT NULL,
        persona TEXT NOT NULL DEFAULT '',
        model TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX conversations_by_project ON conversations (project, updated DESC);
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY,
        conversation INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        typed TEXT NOT NULL,
        persona TEXT NOT NULL,
        persona_title TEXT NOT NULL,
        model TEXT NOT NULL,
        files TEXT NOT NULL DEFAULT '[]',
        user_blocks TEXT NOT NULL DEFAULT '[]',
        reply TEXT NOT NULL DEFAULT '',
        tools TEXT NOT NULL DEFAULT '[]',
        state TEXT NOT NULL,
        failure TEXT NOT NULL DEFAULT '',
        input_tokens INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cache_read_tokens INTEGER NOT NULL DEFAULT 0,
        cache_write_tokens INTEGER NOT NULL DEFAULT 0,
        recorded TEXT NOT NULL DEFAULT '[]',
        owner TEXT NOT NULL DEFAULT '',
        created REAL NOT NULL,
        updated REAL NOT NULL,
        UNIQUE (conversation, seq)
    );
    """,
    # 2: a turn's output count may be an estimate (stopped or failed before the API counted it).
    "ALTER TABLE turns ADD COLUMN output_estimated INTEGER NOT NULL DEFAULT 0",
    # 3: the agents a turn's Task calls ran, each with its transcript (JSON; see store/rows.py).
    "ALTER TABLE turns ADD COLUMN agents TEXT NOT NULL DEFAULT '[]'",
)
SCHEMA_VERSION = len(MIGRATIONS)
#: Conversations with their turn counts, as the history screen lists them.
_SUMMARIES = ("SELECT c.*, (SELECT COUNT(*) FROM turns t WHERE t.conversation = c.id) AS turn_count "
              "FROM conversations c")
BUSY_TIMEOUT_MS = 5_000
#: A streaming turn whose writer cannot be checked (another host) counts as dead after this long.
STALE_SECONDS = 6 * 3600


def _started(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, from /proc), or "" where unknown;
    with the pid it names one process, even after the pid is reused."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else ""


_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or f't{time.time_ns()}'}"


def _zombie(pid: int) -> bool:
    """Whether process ``pid`` has ended and only waits to be reaped (it still answers a signal 0)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[:1] == ["Z"]
    except OSError:
        return False


class HistoryError(Exception):
    """The history database cannot be used; the message says why, for the chat."""


def _owner_alive(owner: str, now: float, updated: float) -> bool:
    """Is the process that wrote this streaming turn still running?"""
    host, _, rest = owner.partition(":")
    pid_text, _, started = rest.partition(":")
    if owner == _PROCESS:
        return True
    if host != socket.gethostname() or not pid_text.isdigit():
        return now - updated < STALE_SECONDS
    pid = int(pid_text)
    if pid == os.getpid():  # our pid, another start: the writer died and the pid came round again
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        pass
    if _zombie(pid):  # dead, but not yet reaped by its parent
        return False
    current = _started(pid)
    if current and started and not started.startswith("t"):
        return current == started  # the same pid, but is it the same process?
    return now - updated < STALE_SECONDS


class Store:
    """The history database: conversations and their turns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))  # private from the first byte
            with contextlib.suppress(OSError):  # an older file: questions and attached files are private
                os.chmod(path, 0o600)
            self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._wal()
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self.checkpoints = Checkpointer(self)
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"the history database {path} cannot be used ({exc})") from exc
        except OSError as exc:
            raise HistoryError(f"the history folder {path.parent} cannot be used ({exc.strerror or exc})") from exc

    def _wal(self) -> None:
        """Switch to WAL; another window switching at the same moment can hold the lock the
        switch needs (the busy timeout does not cover it), so try again for a while."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        """Bring the schema up to date. The version is read again inside the write transaction:
        two windows opening a new database at once must not both create the tables."""
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise HistoryError(f"the history database {self.path} was written by a newer buddy-tui "
                                   f"(schema {version}, this one knows {SCHEMA_VERSION})")
            for number in range(version, SCHEMA_VERSION):
                for statement in _statements(MIGRATIONS[number]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {number + 1}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE) so concurrent writers queue; the
        lock keeps a call from another thread of this process out of it."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        """Write what is pending, then close (the WAL is folded back when the last connection closes)."""
        self.checkpoints.stop()
        with self._lock:
            self._db.close()

    def integrity(self) -> str:
        """``ok`` when SQLite finds nothing wrong with the file."""
        return str(self._rows("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------ conversations
    def create_conversation(self, project: str, title: str, persona: str, model: str) -> int:
        """A new, empty conversation; returns its id."""
        now = time.time()
        with self._transaction() as db:
            cursor = db.execute("INSERT INTO conversations (project, title, persona, model, created, updated) "
                                "VALUES (?, ?, ?, ?, ?, ?)", (project, scrub(title), persona, model, now, now))
        return int(cursor.lastrowid or 0)

    def conversations(self, project: str | None = None, search: str = "", limit: int = 500) -> list[
            ConversationSummary]:
        """Conversations, newest first: of one project (or all), whose title or text (questions, replies,
        agents' transcripts) contains ``search``."""
        where, args = [], []
        if project is not None:
            where.append("c.project = ?")
            args.append(project)
        if search.strip():
            pattern = "%" + search.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation = c.id "
                         "AND (t.typed LIKE ? ESCAPE '\\' OR t.reply LIKE ? ESCAPE '\\' "
                         "OR t.agents LIKE ? ESCAPE '\\')))")
            args += [pattern, pattern, pattern, pattern]
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        found = self._rows(
            f"{_SUMMARIES} {clause} ORDER BY c.updated DESC, c.id DESC LIMIT ?", (*args, limit))
        return [rows.summary(row) for row in found]

    def latest(self, project: str) -> ConversationSummary | None:
        """The most recently used conversation of ``project``."""
        found = self.conversations(project, limit=1)
        return found[0] if found else None

    def load(self, conversation_id: int) -> StoredConversation | None:
        """A conversation with all its turns; None when it no longer exists."""
        with self._lock:  # both reads in one snapshot
            self._db.execute("BEGIN")
            try:
                found = self._rows(f"{_SUMMARIES} WHERE c.id = ?", (conversation_id,))
                turns = self._rows("SELECT * FROM turns WHERE conversation = ? ORDER BY seq", (conversation_id,))
            finally:
                self._db.execute("COMMIT")
        if not found:
            return None
        row = found[0]
        now = time.time()
        records = [rows.record(t) for t in turns]
        for turn, raw in zip(records, turns, strict=True):
            if turn.state == "streaming" and not _owner_alive(raw["owner"], now, raw["updated"]):
                turn.state = "interrupted"
            rows.settle_agents(turn)
        return StoredConversation(rows.summary(row), records)

    def rename(self, conversation_id: int, title: str) -> None:
        """Give a conversation a title of the user's choosing."""
        with self._transaction() as db:
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (scrub(title.strip()), conversation_id))

    def delete(self, conversation_id: int) -> None:
        """Delete a conversation and its turns."""
        with self._transaction() as db:
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # ------------------------------------------------------------------ turns
    def begin_turn(self, conversation_id: int, record: TurnRecord) -> None:
        """Store a question before it is sent (state ``streaming``, owned by this process)."""
        now = time.time()
        record.created = record.updated = now
        with self._transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE conversation = ?",
                             (conversation_id,)).fetchone()[0]
            cursor = db.execute(
                "INSERT INTO turns (conversation, seq, typed, persona, persona_title, model, files, user_blocks, "
                "state, owner, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, seq, scrub(record.typed), record.persona, record.persona_title, record.model,
                 rows.dump(record.files), rows.dump(record.user), record.state, _PROCESS, now, now))
            record.id = int(cursor.lastrowid or 0)
            db.execute("UPDATE conversations SET updated = ?, persona = ?, model = ? WHERE id = ?",
                       (now, record.persona, record.model, conversation_id))

    def save_turn(self, record: TurnRecord) -> None:
        """Write what the turn holds now: the reply so far, tool calls, state, usage, context."""
        if record.id is None:
            raise ValueError("save_turn needs a turn stored with begin_turn")
        record.updated = time.time()
        usage = record.usage
        with self._transaction() as db:
            db.execute(
                "UPDATE turns SET reply = ?, tools = ?, state = ?, failure = ?, input_tokens = ?, output_tokens = ?, "
                "cache_read_tokens = ?, cache_write_tokens = ?, output_estimated = ?, recorded = ?, agents = ?, "
                "updated = ?, owner = CASE WHEN ? = 'streaming' THEN ? ELSE '' END WHERE id = ?",
                (scrub(record.reply), rows.dump([rows.note_dict(n) for n in record.tools]), record.state,
                 scrub(record.failure), usage.input_tokens, usage.output_tokens, usage.cache_read_tokens,
                 usage.cache_write_tokens, int(usage.estimated), rows.dump(record.recorded),
                 rows.dump([rows.agent_dict(a) for a in record.agents]), record.updated, record.state, _PROCESS,
                 record.id))
            if record.state != "streaming":
                db.execute("UPDATE conversations SET updated = ? WHERE id = (SELECT conversation FROM turns "
                           "WHERE id = ?)", (record.updated, record.id))

    def save_reply(self, turn_id: int, reply: str, agents: Sequence[AgentRecord] | None = None) -> None:
        """A checkpoint of a streaming reply's text alone (the cheap write made while text arrives),
        and of its agents' transcripts when given; a no-op once the turn has ended, so a late
        checkpoint never overwrites the final text."""
        with self._transaction() as db:
            if agents is None:
                db.execute("UPDATE turns SET reply = ?, updated = ? WHERE id = ? AND state = 'streaming'",
                           (scrub(reply), time.time(), turn_id))
            else:
                db.execute("UPDATE turns SET reply = ?, agents = ?, updated = ? WHERE id = ? AND state = 'streaming'",
                           (scrub(reply), rows.dump([rows.agent_dict(a) for a in agents]), time.time(), turn_id))

    def interrupted(self, project: str) -> list[ConversationSummary]:
        """Conversations of ``project`` with a reply whose writer died mid-stream, newest first;
        such turns are marked ``interrupted`` (and so found only once)."""
        crashed = self._rows("SELECT t.id, t.owner, t.updated, t.conversation FROM turns t JOIN conversations c "
                             "ON c.id = t.conversation WHERE t.state = 'streaming' AND c.project = ?", (project,))
        now = time.time()
        dead = [row for row in crashed if not _owner_alive(row["owner"], now, row["updated"])]
        if not dead:
            return []
        with self._transaction() as db:
            db.executemany("UPDATE turns SET state = 'interrupted', owner = '' WHERE id = ? AND state = 'streaming'",
                           [(row["id"],) for row in dead])
        ids = {row["conversation"] for row in dead}
        return [c for c in self.conversations(project) if c.id in ids]


class Checkpointer:
    """Writes streaming-reply checkpoints on its own thread, so a busy database (another window
    writing) never freezes the UI; for each turn only the newest text is written."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: dict[int, tuple[str, list[AgentRecord] | None]] = {}
        self._changed = threading.Condition()
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        #: Checkpoints that failed in a row, and why the last one did (the session reports it).
        self.failures = 0
        self.error = ""

    def submit(self, turn_id: int, reply: str, agents: Sequence[AgentRecord] | None = None) -> None:
        """Write ``reply`` as the turn's text soon, and ``agents``' transcripts when given (their
        text grows as they stream: encoding them is work kept off the caller's thread too);
        replaces a checkpoint not yet written (one that had agents keeps them unless new ones come)."""
        copies = None if agents is None else [replace(a, tools=list(a.tools)) for a in agents]  # as they are now
        with self._changed:
            if self._stopping:
                return
            earlier = self._pending.get(turn_id)
            self._pending[turn_id] = (reply, copies if copies is not None or earlier is None else earlier[1])
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="buddy-tui-checkpoints", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def discard(self, turn_id: int) -> None:
        """Drop a pending checkpoint (the turn's final write supersedes it)."""
        with self._changed:
            self._pending.pop(turn_id, None)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every pending checkpoint is written; False if that took too long."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy, timeout)

    def stop(self) -> None:
        """Write what is pending, then end the thread."""
        self.flush()
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                turn_id = next(iter(self._pending))
                reply, agents = self._pending.pop(turn_id)
                self._busy = True
            try:
                self._store.save_reply(turn_id, reply, agents)
                self.failures, self.error = 0, ""
            except (sqlite3.Error, OSError) as exc:
                self.failures += 1
                self.error = str(exc)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def open_store(path: Path) -> tuple[Store | None, str]:
    """The history database at ``path``, and a note for the chat when something was wrong with it.

    A damaged file is moved aside (never deleted) and a fresh one started; a database that
    cannot be used at all leaves history off for this window, with the reason.
    """
    try:
        return Store(path), ""
    except HistoryError as exc:
        cause = exc.__cause__
        if not isinstance(cause, sqlite3.DatabaseError) or isinstance(cause, sqlite3.OperationalError):
            return None, f"History is off for this window: {exc}."
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            extra = path.with_name(path.name + suffix)
            if extra.exists():
                extra.rename(aside.with_name(aside.name + suffix))
        return Store(path), f"The history database was damaged; it was moved to {aside} and a new one started."
    except (OSError, HistoryError) as exc:
        return None, f"History is off for this window: the database {path} is damaged ({exc})."
