"""Issue 16's bar, end to end: a repository holding every hazard opens in the app and answers in
``ask`` in bounded time and memory, names its bad files, and lets no credential reach the API.

Both runs happen in child processes, so their peak memory is their own (``ru_maxrss``) and a hang
is caught by a deadline rather than freezing the suite. The deadlines are generous on purpose: the
old code never finished at all; how fast it is now is measured in benchmarks, not here.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.hostile_repo import ESCAPES, HostileRepo, make_hostile_repo
from tests.secret_corpus import samples

#: The most a child may use, in MB (the issue's bar).
MEMORY_MB = 400
#: Where the old code hung for ever; anything that finishes is bounded.
DEADLINE = 120

#: Runs a command as its child and prints the child's peak memory (KB) last on stderr.
_MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:])
print(f"maxrss={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}", file=sys.stderr)
sys.exit(done.returncode)
"""

#: Opens the real app headless on a project, opens /problems, prints its rows as JSON and the peak memory.
_APP = """
import asyncio, json, resource, sys
from pathlib import Path
from textual.widgets import DataTable
from buddy_tui.conversation.session import open_session
from buddy_tui.settings.model_settings import Settings
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.problems import ProblemsScreen

async def main() -> None:
    app = BuddyApp(open_session(Path(sys.argv[1]), None, Settings(max_retries=0), None, ""))
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(400):
            await pilot.pause(0.05)
            if app.is_running and app.screen.query("#prompt"):
                break
        await pilot.press(*"/problems", "enter")
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, ProblemsScreen):
                break
        rows = []
        if isinstance(app.screen, ProblemsScreen):
            table = app.screen.query_one(DataTable)
            rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        print(json.dumps({"rows": rows, "screen": type(app.screen).__name__}))
    print(f"maxrss={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileRepo:
    """The full-size hostile repository, built once: the 50 MB CLAUDE.md takes a moment to write."""
    return make_hostile_repo(tmp_path_factory.mktemp("hostile") / "repo")


def _peak_mb(stderr: str) -> float:
    line = [line for line in stderr.splitlines() if line.startswith("maxrss=")][-1]
    return int(line.removeprefix("maxrss=")) / 1024


def _env(fake: FakeAnthropic, data: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    env.update(ANTHROPIC_BASE_URL=fake.base_url, ANTHROPIC_API_KEY="sk-ant-test-0123456789",
               BUDDY_TUI_DATA_DIR=str(data), PYTHONIOENCODING="utf-8")
    return env


def _sent(fake: FakeAnthropic) -> str:
    """Everything the API was sent, as one JSON text."""
    return "\n".join(json.dumps(request.body) for request in fake.message_requests())


def _stored(data: Path) -> str:
    """Every text the history database holds."""
    texts: list[str] = []
    for path in data.rglob("*.sqlite3"):
        with sqlite3.connect(path) as db:
            for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                for row in db.execute(f'SELECT * FROM "{table}"'):
                    texts += [str(value) for value in row]
    return "\n".join(texts)


def test_ask_on_a_hostile_repository_answers_and_sends_no_credential(
        hostile: HostileRepo, fake_api: FakeAnthropic, tmp_path: Path) -> None:
    """Files attached with -f, stdin, and every tool the persona has: no corpus credential is sent,
    ordinary code that names a password is, and the child stays under the memory bar."""
    services = hostile.secret_files[0]
    fake_api.queue(
        Reply(["Let me look."], tools=[
            ToolUse("t1", "Read", {"file_path": services}),
            ToolUse("t2", "Read", {"file_path": services, "offset": 40, "limit": 6}),
            ToolUse("t3", "Grep", {"pattern": "[A-Za-z0-9+/=]{20,}", "output_mode": "content"}),
            ToolUse("t4", "Grep", {"pattern": "(a+)+$"}),
            ToolUse("t5", "Glob", {"pattern": "**/*"}),
            ToolUse("t6", "Read", {"file_path": "CLAUDE.local.md"}),
        ]),
        Reply.of("All checked. " + ESCAPES),
    )
    stdin = "\n".join(sample.text for sample in samples()[:8]) + "\n"  # a .env piped in
    data = tmp_path / "data"
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "buddy_tui", "ask", "-C", str(hostile.root),
               "--format", "text", "-f", services, "-f", "app/auth.py", "-f", "notes/escapes.md",
               "what", "is", "configured", "here?"]
    done = subprocess.run(command, env=_env(fake_api, data), input=stdin.encode(), capture_output=True,
                          timeout=DEADLINE)
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0, stderr
    assert stdout.rstrip("\n").endswith("All checked. " + ESCAPES)  # a pipe gets the reply's bytes exactly
    assert _peak_mb(stderr) < MEMORY_MB
    sent = _sent(fake_api)
    assert len(fake_api.message_requests()) == 2
    leaked = [secret for secret in hostile.secrets if secret in sent]
    assert leaked == []
    assert 'password = request.form[\\"password\\"]' in sent  # JSON-escaped quotes
    stored = _stored(data)
    assert stored, "the exchange is in the history"
    assert [secret for secret in hostile.secrets if secret in stored] == []
    assert "ANTHROPIC_API_KEY" not in sent and "sk-ant-test-0123456789" not in sent
    # A file name cannot forge a line of its own on stderr.
    assert not any(line.startswith("buddy-tui: all files sent") for line in stderr.splitlines())


def test_the_app_opens_a_hostile_repository_and_names_its_bad_files(hostile: HostileRepo, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    env["BUDDY_TUI_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([sys.executable, "-c", _APP, str(hostile.root)], env=env, capture_output=True, text=True,
                          timeout=DEADLINE)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["screen"] == "ProblemsScreen"
    named = "\n".join(" ".join(row) for row in shown["rows"])
    missing = [path for path in hostile.bad_files if path not in named]
    assert missing == [], named
    assert _peak_mb(done.stderr) < MEMORY_MB
