"""Shared test helpers: a sample project, an app wired to the fake API, and waiting for the UI."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx2
import pytest
from anthropic._base_client import BaseClient
from anthropic._models import FinalRequestOptions
from textual import events
from textual.errors import NoWidget
from textual.keys import _character_to_key
from textual.message_pump import MessagePump
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Static

from buddy_tui.conversation.session import open_session
from buddy_tui.settings.config_file import DEFAULT_MAX_TOKENS
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store, open_store
from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.decision import DecisionScreen

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
    test's data folder (``history=False``: none); retries off unless asked."""
    settings = Settings(max_tokens=max_tokens, max_retries=max_retries, timeout=timeout)
    store, problem = open_store(history_path()) if history else (None, "")
    session = open_session(root, persona, settings, store, problem)
    return BuddyApp(session, resume_latest=resume_latest)


async def wait_for(pilot: Pilot[None], condition: Callable[[], object], timeout: float = 10.0,
                   what: str = "condition") -> None:
    """Let the app run until ``condition()`` is truthy; fail the test if it never is (``timeout``
    is a safety net against a hang, not a measurement: be generous)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


async def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """:func:`wait_for` for async tests without a Pilot: poll ``condition`` on the running loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def wait_until_blocking(condition: Callable[[], object], timeout: float = 10.0, what: str = "condition",
                        interval: float = 0.01) -> None:
    """:func:`wait_until` for plain (synchronous) tests: poll ``condition`` from this thread,
    every ``interval`` seconds (longer for a condition that is costly to check)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


async def click(pilot: Pilot[None], widget: Widget, offset: tuple[int, int] = (0, 0)) -> None:
    """Click ``widget`` (at ``offset`` in it) once the screen shows it there: a widget just
    mounted or scrolled to is drawn in place only by a later frame."""

    def under_the_pointer() -> bool:
        region = widget.region
        if not region:
            return False
        try:
            found, _ = pilot.app.screen.get_widget_at(region.x + offset[0], region.y + offset[1])
        except NoWidget:
            return False
        return found is widget or widget in found.ancestors

    await wait_for(pilot, under_the_pointer, what=f"{widget!r} on screen")
    assert await pilot.click(widget, offset=offset), f"the click missed {widget!r}"


async def caught_up(pilot: Pilot[None], node: MessagePump) -> None:
    """Wait until ``node`` has handled every message posted to it so far, and any they posted to
    it in turn. A pump handles its messages one at a time, in order, so a callback queued now runs
    after them; if more arrived meanwhile, queue another."""
    for _ in range(100):
        if await _left_behind(pilot, node) == 0:
            return
    raise AssertionError(f"{node!r} never ran out of messages")


async def _left_behind(pilot: Pilot[None], node: MessagePump) -> int:
    """Queue a callback on ``node``; once it has run, how many messages were queued behind it."""
    left: list[int] = []
    node.call_later(lambda: left.append(node.message_queue_size))
    await wait_for(pilot, lambda: left, what=f"{node!r} to handle its messages")
    return left[0]


async def dialog_takes_keys(pilot: Pilot[None], dialog: DecisionScreen[Any]) -> None:
    """Wait out a dialog's guard: keys pressed in its first moments are dropped (the dialog may
    have appeared while the user was typing), so a test's key must come after it."""
    await wait_for(pilot, lambda: dialog.taking_keys and dialog.focused is not None, what="the dialog to take keys")


def send_burst(pilot: Pilot[None], keys: Sequence[str]) -> None:
    """Post ``keys`` (characters, or key names such as "tab" and "enter") to the app all at once,
    as a terminal delivers keys typed faster than the app handles them."""
    app = pilot.app
    for key in keys:
        if len(key) == 1:
            event = events.Key(key if key.isalnum() else _character_to_key(key), key)
        else:
            event = events.Key(key, "\r" if key == "enter" else None)
        event.set_sender(app)
        app.post_message(event)


async def type_burst(pilot: Pilot[None], text: str) -> None:
    """Type ``text`` as one fast burst (a quick typist, or keys meant for a prompt that a dialog
    got instead), then wait until the app and whatever has the focus have handled every key."""
    app = pilot.app
    send_burst(pilot, list(text))
    await caught_up(pilot, app)
    await caught_up(pilot, app.screen)
    if app.screen.focused is not None:
        await caught_up(pilot, app.screen.focused)


async def choose(pilot: Pilot[None], value: str) -> None:
    """Answer the dialog on top the way a keyboard user does: wait out its guard, move the focus
    (Tab out of a text field, then →) to the button ``value``, and press Enter."""
    dialog = pilot.app.screen
    assert isinstance(dialog, DecisionScreen), f"no dialog on top: {dialog!r}"
    await dialog_takes_keys(pilot, dialog)
    if not isinstance(dialog.focused, Button):
        await pilot.press("tab")
    for _ in dialog.query(Button):
        if dialog.focused is not None and dialog.focused.id == value:
            break
        await pilot.press("right")
    button = dialog.focused
    assert isinstance(button, Button) and button.id == value, f"no button {value!r} in {dialog!r}"
    # A button ignores presses while it still shows its last one (Textual's debounce).
    await wait_for(pilot, lambda: not button.has_class("-active"), what="the button to take a press")
    await pilot.press("enter")


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


def record_retry_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the SDK chooses before each retry, in order (it then sleeps exactly that long):
    what a test of retry timing checks, instead of timing the whole call."""
    waits: list[float] = []
    choose = BaseClient._calculate_retry_timeout

    def recording(client: BaseClient[Any, Any], remaining_retries: int, options: FinalRequestOptions,
                  response_headers: httpx2.Headers | None = None) -> float:
        wait = choose(client, remaining_retries, options, response_headers)
        waits.append(wait)
        return wait

    monkeypatch.setattr(BaseClient, "_calculate_retry_timeout", recording)
    return waits


def chat_worker_done(app: BuddyApp) -> bool:
    """No worker of the chat's turns is left: nothing more can stream in, run or be sent."""
    return not any(worker.group == "chat" and not worker.is_finished for worker in app.workers)


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


class ScriptedAsker:
    """An Asker for tests: answers from a script, in order, and notes each question as a person
    would read its title. ``None`` in the script (or an empty script) is Esc: cancel."""

    def __init__(self, answers: Sequence[Any] = ()) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def _next(self, question: str) -> Any:
        self.asked.append(question)
        return self.answers.pop(0) if self.answers else None

    async def send_secrets_files(self, names: Sequence[str]) -> Any:
        return self._next(f"Send {', '.join(names)}?")

    async def send_secret_values(self, findings: Sequence[Any]) -> Any:
        return self._next(f"{len(findings)} secret-looking value(s) in the attached files")

    async def over_budget(self, budget: Any, attachments: Sequence[Any]) -> Any:
        return self._next(f"Too big for the model by {budget.over_by:,} tokens")

    async def may_use(self, call: Any) -> None:
        return None

    async def allow_secrets_file(self, tool: str, path: str, verb: str, agent: str = "") -> Any:
        return self._next(f"Let Claude {verb} {path}?") == "yes"

    async def approve_change(self, change: Any) -> Any:
        return self._next(f"Approve {change.tool} of {change.path}")
