"""``kill -9`` in the middle of a streaming reply: the real ``buddy-tui`` runs in a pseudo-terminal,
the fake API streams slowly, the process is killed with SIGKILL, and what comes back is checked:
the database is intact, the question and the reply up to the last checkpoint are there, and the
next start shows the conversation with the reply marked as interrupted."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import signal
import struct
import sys
import termios
import threading
from pathlib import Path

from textual.widgets import Static

from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store
from buddy_tui.ui.widgets.transcript import AssistantMessage, UserMessage
from tests.fake_api import FakeAnthropic, Reply, split_text
from tests.helpers import make_app, make_project, text_of, turns_of, wait_for, wait_until_blocking

REPLY = "".join(f"Step {n}: check the retry budget and the idempotency key. " for n in range(1, 80))
QUESTION = "walk me through making the payment client safe to retry"


def stored_reply(project: Path) -> str:
    if not history_path().exists():
        return ""
    store = Store(history_path())
    try:
        summaries = store.conversations(str(project))
        loaded = store.load(summaries[0].id) if summaries else None
        return loaded.turns[0].reply if loaded and loaded.turns else ""
    finally:
        store.close()


def spawn(project: Path, env: dict[str, str]) -> tuple[int, int, bytearray]:
    """Run buddy-tui on ``project`` in a 160x48 pseudo-terminal; its output is drained in a thread."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become buddy-tui
        os.execve(sys.executable, [sys.executable, "-m", "buddy_tui", str(project)], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    screen = bytearray()

    def drain() -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                screen.extend(chunk)

    threading.Thread(target=drain, daemon=True).start()
    return pid, fd, screen


def run_and_kill(project: Path, fake_api: FakeAnthropic) -> str:
    """Start buddy-tui, ask the question, SIGKILL it mid-reply; returns the reply stored just before."""
    env = {**os.environ, "ANTHROPIC_BASE_URL": fake_api.base_url, "ANTHROPIC_API_KEY": "sk-ant-test-kill",
           "TERM": "xterm-256color", "COLUMNS": "160", "LINES": "48"}
    pid, fd, screen = spawn(project, env)
    try:
        # The greeting is in the first frame, drawn after the prompt took the focus: keys go there now.
        wait_until_blocking(lambda: b"ready" in screen, 30, "buddy-tui to start")
        os.write(fd, QUESTION.encode() + b"\r")
        wait_until_blocking(lambda: len(stored_reply(project)) >= 240, 30, "part of the reply to be checkpointed",
                            interval=0.05)  # each look opens the database
        before_kill = stored_reply(project)
        os.kill(pid, signal.SIGKILL)
        _, code = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(code) and os.WTERMSIG(code) == signal.SIGKILL
        return before_kill
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)


async def test_sigkill_mid_stream_loses_at_most_the_last_moment(tmp_path: Path, fake_api: FakeAnthropic) -> None:
    project = make_project(tmp_path / "orders").resolve()
    fake_api.queue(Reply(split_text(REPLY, 12), delay=0.03))
    before_kill = run_and_kill(project, fake_api)

    store = Store(history_path())
    assert store.integrity() == "ok"
    (summary,) = store.conversations(str(project))
    turn = turns_of(store, summary.id)[0]
    assert turn.typed == QUESTION
    assert turn.state == "interrupted"  # its writer is dead: seen as such even before the next start
    assert REPLY.startswith(turn.reply) and len(turn.reply) >= len(before_kill)
    assert len(turn.reply) < len(REPLY)
    # At most the last moment is lost: the server streams ~400 characters a second and a checkpoint
    # is written every quarter second; allow two seconds' worth for a loaded machine.
    assert REPLY.startswith(fake_api.sent_text)
    assert len(fake_api.sent_text) - len(turn.reply) <= 800

    app = make_app(project)  # the next start, in-process so the screen can be read
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(AssistantMessage), what="the recovered conversation")
        assert app.query_one(UserMessage).text == QUESTION
        reply = app.query_one(AssistantMessage)
        assert reply.text == turn.reply
        assert "Interrupted: buddy-tui stopped while this reply was streaming" in text_of(
            reply.query_one(".status", Static))
        assert app.chat.unsent is not None and app.chat.unsent.typed == QUESTION
    assert Store(history_path()).integrity() == "ok"
