"""Snapshot tests of the screens the README shows, at a fixed size (SVGs under
tests/ui/__snapshots__): the main screen without a key and after an answer, an answer while it
streams, command completion, an edit waiting for approval, and the history screen.

Update them with ``pytest tests/ui/test_snapshots.py --snapshot-update`` after a deliberate
change to the look, and check the report before committing.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Protocol

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, DirectoryTree, Input, Static

from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.approval import ApprovalScreen
from buddy_tui.ui.screens.history import HistoryScreen
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.prompt import Chip
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply, review_demo
from tests.helpers import caught_up, connected, dialog_takes_keys, make_app, make_project, settled, wait_for

ANSWER = (
    "## What could go wrong under load\n\n"
    "1. **N+1 queries** in `load_orders` (app/models.py:14): one query per order.\n"
    "2. **SQL built from strings** (app/models.py:13): an injection risk and no plan caching.\n\n"
    "```python\norders = db.query(\"SELECT * FROM orders WHERE user_id = %s\", (user_id,))\n```\n"
)


class SnapCompare(Protocol):
    """The ``snap_compare`` fixture of pytest-textual-snapshot, which ships no type information."""

    def __call__(self, app: App[None], press: Iterable[str] = ..., terminal_size: tuple[int, int] = ...,
                 run_before: Callable[[Pilot[None]], Awaitable[None] | None] | None = ...) -> bool: ...


async def select_models_py(pilot: Pilot[None], app: BuddyApp) -> None:
    tree = app.query_one(DirectoryTree)
    await wait_for(pilot, lambda: any(str(n.label) == "app" for n in tree.root.children), what="the tree")
    folder = next(n for n in tree.root.children if str(n.label) == "app")
    folder.expand()
    await wait_for(pilot, lambda: len(folder.children) == 2, what="the app folder")
    tree.select_node(next(n for n in folder.children if str(n.label) == "models.py"))
    preview = app.query_one(FilePreview)
    await wait_for(pilot, lambda: preview.border_title == "app/models.py" and preview.preview is not None
                   and preview.preview.path.parts[-2:] == ("app", "models.py"), what="the preview")
    await wait_for(pilot, lambda: [chip.attachment.key for chip in app.query(Chip)] == ["app/models.py"]
                   and app.query_one(Chip).region, what="the models.py chip on screen")
    # Everything the attachment set off is done before a question goes, as when a user looks before
    # typing. (Once sent, the emptied chips row stays one line high in these images; now and then
    # the app lays it out at no lines instead, a race in the app that no wait here can settle.)
    await caught_up(pilot, app.chat)
    await caught_up(pilot, app.chat.prompt)


async def at_rest(pilot: Pilot[None], app: BuddyApp, in_flight: bool = False) -> None:
    """Wait for a screen with nothing left to draw, so a busy machine captures the same image as a
    quiet one: no reply streaming or rendering, every message handled, no widget waiting for a
    repaint or a new layout."""
    if not in_flight:  # an image of a reply on its way (or waiting for an approval) keeps it in flight
        await wait_for(pilot, lambda: not app.chat.busy and settled(app), what="no reply in flight")
    for reply in app.query(AssistantMessage):
        await reply.drain()
    for node in (app, app.screen, app.chat, app.chat.prompt):
        await caught_up(pilot, node)

    def nothing_pending() -> bool:
        return not any(getattr(w, "_repaint_required", False) or getattr(w, "_layout_required", False)
                       for w in app.screen.walk_children(with_self=True))

    await wait_for(pilot, nothing_pending, what="every widget drawn")


def test_main_screen_without_a_key(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The first screen a new user sees with no API key: the tree of the sample project on the
    left (app/ open, models.py highlighted, __pycache__, server.log and .git hidden), models.py in
    the preview with line numbers and highlighting, the Backend persona ready in the chat with a
    warning that says how to set ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, a models.py chip on the
    prompt, and the footer with the key bindings."""
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.chat.connection is not None, what="the connection")
        await select_models_py(pilot, app)
        app.chat.prompt.input.cursor_blink = False
        await at_rest(pilot, app)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_main_screen_after_an_answer(snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     fake_api: FakeAnthropic) -> None:
    """The main flow finished: models.py selected and previewed, the question with its 📎 models.py
    attachment line in the chat, and the persona's streamed answer rendered as Markdown (a heading,
    a numbered list with bold text and inline code, a highlighted Python code block) with its token
    usage line under it. The connection label is pinned to port 8765 so the image is stable."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-snapshot")
    fake_api.queue(Reply.of(ANSWER, size=12, input_tokens=1_234, cache_read_input_tokens=1_100))
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        chat = app.chat
        await connected(pilot, app)
        await select_models_py(pilot, app)
        chat.prompt.input.value = "what could go wrong with these models under load?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake_api.completed_streams == 1 and settled(app), what="the answer")
        await caught_up(pilot, chat)  # the end of the turn handled, the file references under it included
        chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
        chat.prompt.input.cursor_blink = False
        await at_rest(pilot, app)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def connected_to_8765(app: BuddyApp) -> None:
    """Pin the connection label, so the image does not depend on the fake server's port."""
    app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")


def test_an_answer_while_it_streams(snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    fake_api: FakeAnthropic) -> None:
    """A reply caught mid-stream: the heading, the numbered list and the first line of the Python
    code block are drawn (highlighted, on the panel colour), the rest has not arrived yet, and the
    status line under it says "streaming…  (Esc to stop)"."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-snapshot")
    chunks = [ANSWER[i:i + 12] for i in range(0, len(ANSWER), 12)]
    held = ANSWER.index("(user_id,))") // 12  # the server stops sending in the middle of the code
    gate = threading.Event()

    def hold(index: int, total: int) -> None:
        if index == held:
            gate.wait(10)

    fake_api.on_chunk = hold
    fake_api.queue(Reply(chunks))
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        chat = app.chat
        await connected(pilot, app)
        await select_models_py(pilot, app)
        chat.prompt.input.value = "what could go wrong with these models under load?"
        await pilot.press("enter")
        sent = "".join(chunks[: held + 1])  # on_chunk runs after the chunk is written
        await wait_for(pilot, lambda: chat.query(AssistantMessage) and chat.query(AssistantMessage).last().text == sent,
                       what="the first part of the answer")
        await chat.query(AssistantMessage).last().drain()  # drawn, not only received
        await caught_up(pilot, chat)
        connected_to_8765(app)
        chat.prompt.input.cursor_blink = False
        await at_rest(pilot, app, in_flight=True)

    try:
        assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)
    finally:
        gate.set()


def test_command_completion(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """Typing "/bu" in the prompt: the completion menu lists the persona's six /buddy: commands
    (api, review, secure, improve, database, brainstorm) with their descriptions and argument
    hints, /buddy:api highlighted."""
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: app.chat.connection is not None, what="the connection")
        app.chat.prompt.input.focus()
        await pilot.press("/", "b", "u")
        menu = app.chat.prompt.menu
        await wait_for(pilot, lambda: menu.display and menu.option_count == 6 and menu.highlighted == 0,
                       what="the six /buddy: commands")
        app.chat.prompt.input.cursor_blink = False
        await at_rest(pilot, app)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_an_edit_waiting_for_approval(snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      fake_api: FakeAnthropic) -> None:
    """/buddy:review has read the code through Glob and Read and now asks to change
    app/models.py: the approval dialog shows the unified diff (the %-formatted SQL replaced by a
    parameterised query), the focused reason field (Enter denies), and the buttons Deny, Allow once
    (Ctrl+Y) and Allow Edit for this conversation…, with a line saying which keys do what."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-snapshot")
    fake_api.queue(*review_demo())
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        await connected(pilot, app)
        app.chat.prompt.input.value = "/buddy:review app"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#deny"),
                       what="the approval dialog")
        dialog = app.screen
        assert isinstance(dialog, ApprovalScreen)
        await dialog_takes_keys(pilot, dialog)  # the reason field has the focus
        dialog.query_one("#approval-reason", Input).cursor_blink = False
        app.chat.prompt.input.cursor_blink = False  # the prompt shows under the dialog: its cursor must not blink
        await caught_up(pilot, app.chat)
        await caught_up(pilot, app.screen)
        connected_to_8765(app)
        await at_rest(pilot, app, in_flight=True)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_the_history_screen(snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            fake_api: FakeAnthropic) -> None:
    """/resume with three conversations of this project (~/orders): a search box, a table of
    titles (the first question of each), when each was last used (pinned to 10:42 here), expert,
    model and turns, the current one marked with ●, and the keys: F2 renames, F8 deletes, F4 all
    projects, Esc closes."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-snapshot")
    monkeypatch.setattr("buddy_tui.ui.screens.history.when", lambda stamp, now=None: "10:42")
    monkeypatch.setenv("HOME", str(tmp_path))  # the title shows the project as ~/orders
    questions = ["how should the orders endpoint paginate?", "which indexes does load_orders need?",
                 "design an idempotent POST /payments"]
    app = make_app(make_project(tmp_path / "orders"))

    def answered(count: int) -> Callable[[], bool]:
        return lambda: fake_api.completed_streams >= count and settled(app)

    async def run_before(pilot: Pilot[None]) -> None:
        chat = app.chat
        await connected(pilot, app)
        for number, question in enumerate(questions, 1):
            fake_api.queue(Reply.of(f"Answer {number}: keep it small and measurable.", input_tokens=900 * number))
            chat.prompt.input.value = question
            await pilot.press("enter")
            await wait_for(pilot, answered(number), what=f"answer {number}")
            if number < len(questions):
                await chat.clear()
        connected_to_8765(app)
        chat.prompt.input.cursor_blink = False  # the prompt shows under the dialog: its cursor must not blink
        chat.prompt.input.value = "/resume"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and app.screen.focused is not None
                       and app.screen.query_one(DataTable).row_count == 3, what="the history screen, with the focus")
        await at_rest(pilot, app)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)


def test_a_review_with_two_expert_panels(snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        fake_api: FakeAnthropic) -> None:
    """A finished /buddy:review, shown again from its stored turn: the backend persona's opening
    line, then its two Task calls, each with its agent's panel right under it. The Security panel
    (name in red) is open: its text, its Read and Grep lines, its finding with a code block. The
    Performance panel (name in green) is folded to one line: ▶, its task and "done in 9.1 s · in
    2.9k out 518". The merged answer ranked by severity follows, and the usage line under it."""
    from buddy_tui.ui.widgets.agent_panel import AgentPanel
    from buddy_tui.ui.widgets.turn_stubs import build
    from tests.agent_demo import review_turn

    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-snapshot")
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        chat = app.chat
        await build(chat.transcript, review_turn())
        await wait_for(pilot, lambda: len(chat.query(AgentPanel)) == 2, what="the two panels")
        security = chat.query(AgentPanel).first()
        await security.fold(False)
        app.query_one(DirectoryTree).display = True
        chat.transcript.scroll_end(animate=False)
        connected_to_8765(app)
        chat.prompt.input.cursor_blink = False
        await at_rest(pilot, app)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)
