"""Agent transcripts in the history: stored with their turn, read back whole, migrated into an
older database, tolerant of a damaged value, kept through crash recovery, never holding the key."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import MIGRATIONS, SCHEMA_VERSION, Store
from buddy_tui.store.records import AgentRecord, ToolNote, TurnRecord, Usage
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import dead_owner, make_project, wait_until_blocking
from tests.test_ask import subprocess_env


def turn(typed: str = "Review the auth module") -> TurnRecord:
    return TurnRecord(typed=typed, persona="backend", persona_title="Backend Buddy", model="claude-test",
                      user=[{"type": "text", "text": typed}])


def two_agents() -> list[AgentRecord]:
    security = AgentRecord(
        id="toolu_sec", name="security", title="Security Persona", color="red", description="Check auth paths",
        prompt="Look at app/auth.py for injection", model="claude-opus-test",
        reply="Found one issue.\n\n1. `app/auth.py:12` builds SQL from input.",
        tools=[ToolNote("s1", "Read", {"path": "app/auth.py"}, "Read app/auth.py · 40 lines", False, 17),
               ToolNote("s2", "Grep", {"pattern": "execute("}, "Grep execute( · 3 matches", False, 17)],
        state="done", usage=Usage(3100, 640, 1000, 20), seconds=12.4)
    perf = AgentRecord(
        id="toolu_perf", name="performance", title="Performance Persona", color="", description="Query costs",
        prompt="Find N+1 queries", model="claude-test", reply="Looking at the ORM",
        tools=[ToolNote("p1", "Read", {"path": "secrets/.env"}, "refused: secrets", True, 5)],
        state="failed", why="the model call failed: overloaded", usage=Usage(800, 41, estimated=True), seconds=3.0)
    return [security, perf]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "history.sqlite3")


def test_a_turn_with_two_agents_round_trips(store: Store) -> None:
    conversation = store.create_conversation("/p", "review", "backend", "claude-test")
    record = turn()
    store.begin_turn(conversation, record)
    record.reply, record.state = "Both experts looked.", "complete"
    record.tools = [ToolNote("toolu_sec", "Task", {"subagent_type": "security"}, "security: done", False, 0)]
    record.agents = two_agents()
    store.save_turn(record)
    loaded = store.load(conversation)
    assert loaded is not None
    assert loaded.turns[0].agents == two_agents()  # every field, the estimate flag and failure reason too
    assert loaded.turns[0].agent("toolu_perf") is not None
    assert loaded.turns[0].agents[1].usage.estimated and not loaded.turns[0].agents[0].usage.estimated
    assert [c.id for c in store.conversations("/p", "builds SQL")] == [conversation]  # search sees transcripts


def test_a_database_of_the_second_schema_gains_the_agents_column(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:
        for statement in migration.split(";"):
            old.execute(statement)
    old.execute("PRAGMA user_version = 2")
    old.execute("INSERT INTO conversations (project, title, created, updated) VALUES ('/p', 't', 0, 0)")
    old.execute("INSERT INTO turns (conversation, seq, typed, persona, persona_title, model, reply, state, "
                "created, updated) VALUES (1, 1, 'q', 'backend', 'Backend', 'm', 'an old answer', 'complete', 0, 0)")
    old.commit()
    old.close()
    store = Store(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3
    loaded = store.load(1)
    assert loaded is not None and loaded.turns[0].reply == "an old answer" and loaded.turns[0].agents == []
    record = loaded.turns[0]
    record.agents = two_agents()[:1]
    store.save_turn(record)  # the migrated file takes agents
    again = store.load(1)
    assert again is not None and again.turns[0].agents == two_agents()[:1]


@pytest.mark.parametrize("raw", [
    "not json at all {",
    '{"id": "toolu_x"}',  # an object, not a list
    "null",
])
def test_an_unreadable_agents_value_loads_as_no_agents(store: Store, raw: str) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    record.reply, record.state = "the lead's reply survives", "complete"
    store.save_turn(record)
    store._db.execute("UPDATE turns SET agents = ? WHERE id = ?", (raw, record.id))
    loaded = store.load(conversation)
    assert loaded is not None and loaded.turns[0].reply == "the lead's reply survives"
    assert loaded.turns[0].agents == []


def test_odd_agent_entries_are_skipped_or_mended_and_the_rest_kept(store: Store) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    record.state = "complete"
    store.save_turn(record)
    entries = [
        "a string",
        {"name": "no id"},
        {"id": 7, "name": "a numeric id"},
        {"id": "toolu_ok", "name": "security", "reply": "kept", "state": "done", "seconds": 2.5,
         "usage": {"input_tokens": 5, "output_tokens": 6, "estimated": True}},
        {"id": "toolu_odd", "name": ["x"], "title": None, "reply": 12, "state": "exploded", "seconds": "soon",
         "usage": "lots", "tools": [{"id": "t1", "name": "Read", "offset": "x", "input": [1]}, "junk",
                                    {"name": "no id"}]},
    ]
    store._db.execute("UPDATE turns SET agents = ? WHERE id = ?", (json.dumps(entries), record.id))
    loaded = store.load(conversation)
    assert loaded is not None
    ok, odd = loaded.turns[0].agents
    assert (ok.id, ok.name, ok.title, ok.reply, ok.state, ok.seconds) == ("toolu_ok", "security", "security", "kept",
                                                                         "done", 2.5)
    assert ok.usage == Usage(5, 6, estimated=True)
    assert (odd.id, odd.name, odd.reply, odd.state, odd.seconds, odd.usage) == ("toolu_odd", "", "", "interrupted",
                                                                                0.0, Usage())
    assert odd.tools == [ToolNote("t1", "Read", {}, "", False, 0)]


def test_a_crash_while_an_agent_ran_loads_that_agent_as_interrupted(store: Store) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    done, running = two_agents()
    running.state, running.why, running.reply = "running", "", "Halfway through the ORM"
    queued = AgentRecord(id="toolu_q", name="devops", title="DevOps Persona", state="queued")
    record.reply, record.agents = "Asking the experts.", [done, running, queued]
    store.save_turn(record)  # still streaming, as when the process was killed
    store.checkpoints.submit(record.id or 0, "Asking the experts. More")  # a text checkpoint keeps the agents
    assert store.checkpoints.flush()
    live = store.load(conversation)
    assert live is not None and [a.state for a in live.turns[0].agents] == ["done", "running", "queued"]
    store._db.execute("UPDATE turns SET owner = ? WHERE id = ?", (dead_owner(), record.id))
    assert [c.id for c in store.interrupted("/p")] == [conversation]
    loaded = store.load(conversation)
    assert loaded is not None
    stored = loaded.turns[0]
    assert stored.state == "interrupted" and stored.reply == "Asking the experts. More"
    assert [(a.id, a.state) for a in stored.agents] == [("toolu_sec", "done"), ("toolu_perf", "interrupted"),
                                                        ("toolu_q", "interrupted")]
    assert stored.agents[1].reply == "Halfway through the ORM" and stored.agents[1].tools == running.tools


def test_a_checkpoint_off_the_caller_s_thread_writes_agents_as_they_were_submitted(store: Store) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    agent = two_agents()[0]
    agent.state, agent.reply = "running", "Halfway"
    store.checkpoints.submit(record.id or 0, "Lead text", [agent])
    agent.tools.append(ToolNote("later", "Read", {}, "", False, 7))  # the stream goes on meanwhile
    agent.reply = "Halfway and beyond"
    store.checkpoints.submit(record.id or 0, "Lead text, more")  # text alone: the agents queued stay queued
    assert store.checkpoints.flush()
    loaded = store.load(conversation)
    assert loaded is not None and loaded.turns[0].reply == "Lead text, more"
    [stored] = loaded.turns[0].agents
    assert stored.reply == "Halfway" and "later" not in [n.id for n in stored.tools]  # as it stood when submitted
    record.state, record.reply, record.agents = "complete", "Lead text, whole", [agent]
    store.save_turn(record)  # the end: a late checkpoint must not undo it
    store.checkpoints.submit(record.id or 0, "stale", [])
    assert store.checkpoints.flush()
    final = store.load(conversation)
    assert final is not None and final.turns[0].reply == "Lead text, whole"
    assert [n.id for n in final.turns[0].agents[0].tools][-1] == "later"


def test_agents_cut_off_by_esc_read_as_interrupted(store: Store) -> None:
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    agent = two_agents()[0]
    agent.state = "running"
    record.state, record.agents = "stopped", [agent]
    store.save_turn(record)
    loaded = store.load(conversation)
    assert loaded is not None and loaded.turns[0].agents[0].state == "interrupted"


def test_the_api_key_never_reaches_the_agents_column(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-api03-AGENTSECRETAGENTSECRET"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    conversation = store.create_conversation("/p", "q", "backend", "m")
    record = turn()
    store.begin_turn(conversation, record)
    agent = two_agents()[0]
    agent.prompt, agent.reply, agent.why = f"use {key}", f"the key is {key}", f"failed with {key}"
    agent.tools = [ToolNote("s1", "Grep", {"pattern": key}, f"Grep {key}", False, 0)]
    record.state, record.agents = "complete", [agent]
    store.save_turn(record)
    store.close()
    raw = b"".join(p.read_bytes() for p in store.path.parent.iterdir() if p.name.startswith("history"))
    assert b"AGENTSECRET" not in raw
    assert b"<ANTHROPIC_API_KEY>" in raw


def test_kill_9_while_an_agent_streams_leaves_its_transcript_to_recover(tmp_path: Path,
                                                                        fake_api: FakeAnthropic) -> None:
    """A real ``buddy-tui ask`` is killed while its agent's reply streams; the next look at the
    history finds the turn interrupted with the agent in it, its text so far kept."""
    root = make_project(tmp_path / "orders")
    (root / ".claude" / "agents").mkdir(parents=True)
    (root / ".claude" / "agents" / "auditor.md").write_text(
        "---\nname: auditor\ndescription: Audits code\n---\n\nAUDITOR-MARKER You audit code.\n")
    agent_text = "".join(f"Finding {n}: line {n} builds SQL from input. " for n in range(1, 200))
    fake_api.route(lambda body: "AUDITOR-MARKER" in json.dumps(body.get("system")),
                   Reply.of(agent_text, size=8, delay=0.02))
    fake_api.route(lambda body: True, Reply(["Asking the auditor."], tools=[ToolUse(
        "toolu_audit", "Task", {"description": "check models", "prompt": "Audit it", "subagent_type": "auditor"})]))
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", "ask", "-C", str(root), "--persona", "backend",
                                "--no-stdin", "audit the models"], env=subprocess_env(fake_api),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_blocking(lambda: len(stored_agent_reply(root)) >= 80, 30, "the agent's text to be checkpointed",
                            interval=0.05)
        before_kill = stored_agent_reply(root)
        process.kill()
        assert process.wait(10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    store = Store(history_path())
    try:
        [crashed] = store.interrupted(str(root.resolve()))
        loaded = store.load(crashed.id)
    finally:
        store.close()
    assert loaded is not None
    [turn] = loaded.turns
    assert turn.state == "interrupted" and turn.reply == "Asking the auditor."
    [agent] = turn.agents
    assert (agent.id, agent.name, agent.description, agent.state) == ("toolu_audit", "auditor", "check models",
                                                                      "interrupted")
    assert agent.reply.startswith(before_kill) and agent_text.startswith(agent.reply) and len(agent.reply) < len(
        agent_text)


def stored_agent_reply(root: Path) -> str:
    """The first agent's text as the history holds it now ("" before there is one)."""
    if not history_path().exists():
        return ""
    store = Store(history_path())
    try:
        found = store.conversations(str(root.resolve()))
        loaded = store.load(found[0].id) if found else None
        agents = loaded.turns[0].agents if loaded and loaded.turns else []
        return agents[0].reply if agents else ""
    finally:
        store.close()
