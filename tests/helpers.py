"""Shared test helpers: a sample project, an app wired to the fake API, and waiting for the UI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Static

from buddy_tui.conversation.session import open_session
from buddy_tui.settings.config_file import DEFAULT_MAX_TOKENS
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store, open_store
from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.app import BuddyApp

MODELS_PY = '''"""Order models."""
from dataclasses import dataclass


@dataclass
class Order:
    id: int
    user_id: int
    total_cents: int


def load_orders(db, user_id):
    orders = db.query("SELECT * FROM orders WHERE user_id = %s" % user_id)
    for order in orders:
        order.lines = db.query(f"SELECT * FROM lines WHERE order_id = {order.id}")
    return orders
'''


def make_project(root: Path) -> Path:
    """A small backend project: code, an ignored folder, a binary, a secrets file."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "models.py").write_text(MODELS_PY)
    (root / "app" / "__init__.py").write_text("")
    (root / "README.md").write_text("# Orders service\n")
    (root / "requirements.txt").write_text("fastapi==0.115\nsqlalchemy==2.0\n")
    (root / ".gitignore").write_text("__pycache__/\n*.log\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "models.cpython-311.pyc").write_bytes(b"\x00\x01")
    (root / "server.log").write_text("ignored\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (root / ".env").write_text("DATABASE_URL=postgres://u:p@db/orders\n")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def make_app(root: Path, persona: str | None = None, *, resume_latest: bool = False, history: bool = True,
             max_retries: int | None = 0, timeout: float | None = None,
             max_tokens: int = DEFAULT_MAX_TOKENS) -> BuddyApp:
    """The real app on ``root`` (backend persona unless named), with the history database in the
    test's data folder (``history=False``: none); SDK retries off unless asked."""
    settings = Settings(max_tokens=max_tokens, max_retries=max_retries, timeout=timeout)
    store, problem = open_store(history_path()) if history else (None, "")
    session = open_session(root, persona, settings, store, problem)
    return BuddyApp(session, resume_latest=resume_latest)


async def wait_for(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 5.0,
                   what: str = "condition") -> None:
    """Let the app run until ``condition()`` is truthy; fail the test if it never is."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def submit(pilot: Pilot[None], app: BuddyApp, text: str) -> None:
    """Type ``text`` into the prompt (all at once) and press Enter."""
    app.chat.prompt.input.value = text
    app.chat.prompt.input.focus()
    await pilot.press("enter")


async def connected(pilot: Pilot[None], app: BuddyApp) -> None:
    """Build the client now (the app does it when the user starts typing) and wait for it."""
    app.chat.connect_now()
    await wait_for(pilot, lambda: app.chat.client is not None, what="the client")


def settled(app: BuddyApp) -> bool:
    """No reply streaming, and every reply's final state (usage, error, interruption) on screen."""
    from buddy_tui.ui.widgets.transcript import AssistantMessage

    statuses = [text_of(r.query_one(".status", Static)) for r in app.query(AssistantMessage)]
    return not app.chat.busy and not any(s.startswith(("thinking", "streaming")) for s in statuses)


def turns_of(store: Store, conversation: int) -> list[TurnRecord]:
    """The stored turns of a conversation that must exist."""
    loaded = store.load(conversation)
    assert loaded is not None, f"conversation {conversation} is not in the history"
    return loaded.turns


def text_of(widget: Static) -> str:
    """The plain text a Static shows."""
    return str(widget.render())


SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "persona-backend.md"


def seed_persona() -> Path:
    """The original Claude Buddy persona, which lives beside the repository (never copied into it).

    CI lays shared/ beside its clone, so there a missing seed is a failure; a developer checkout
    without shared/ skips these few tests instead.
    """
    import os

    import pytest

    if SEED.exists():
        return SEED
    if os.environ.get("CI"):
        pytest.fail(f"the seed persona is missing at {SEED}")
    pytest.skip("the seed persona lives outside the repository and is not beside this checkout")


def dead_owner() -> str:
    """A history ``owner`` naming a process of this host that has exited (as after ``kill -9``)."""
    import socket
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return f"{socket.gethostname()}:{done.stdout.strip()}:1"
