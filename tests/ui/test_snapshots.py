"""Snapshot tests of the main screen at a fixed size (SVGs under tests/ui/__snapshots__).

Update them with ``pytest tests/ui/test_snapshots.py --snapshot-update`` after a deliberate
change to the look, and check the report before committing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DirectoryTree, Static

from buddy_tui.ui.widgets.file_browser import FilePreview
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import connected, make_app, make_project, settled, wait_for

ANSWER = (
    "## What could go wrong under load\n\n"
    "1. **N+1 queries** in `load_orders` (app/models.py:14): one query per order.\n"
    "2. **SQL built from strings** (app/models.py:13): an injection risk and no plan caching.\n\n"
    "```python\norders = db.query(\"SELECT * FROM orders WHERE user_id = %s\", (user_id,))\n```\n"
)


async def select_models_py(pilot: Pilot[None]) -> None:
    app = pilot.app
    tree = app.query_one(DirectoryTree)
    await wait_for(pilot, lambda: any(str(n.label) == "app" for n in tree.root.children), what="the tree")
    folder = next(n for n in tree.root.children if str(n.label) == "app")
    folder.expand()
    await wait_for(pilot, lambda: len(folder.children) == 2, what="the app folder")
    tree.select_node(next(n for n in folder.children if str(n.label) == "models.py"))
    preview = app.query_one(FilePreview)
    await wait_for(pilot, lambda: preview.border_title == "app/models.py", what="the preview")
    await pilot.pause(0.2)


def test_main_screen_without_a_key(snap_compare: object, tmp_path: Path) -> None:
    """The first screen a new user sees with no API key: the tree of the sample project on the
    left (app/ open, models.py highlighted, __pycache__, server.log and .git hidden), models.py in
    the preview with line numbers and highlighting, the Backend persona ready in the chat with a
    warning that says how to set ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, a models.py chip on the
    prompt, and the footer with the key bindings."""
    app = make_app(make_project(tmp_path / "orders"))

    async def run_before(pilot: Pilot[None]) -> None:
        await wait_for(pilot, lambda: pilot.app.chat.connection is not None, what="the connection")  # type: ignore[attr-defined]
        await select_models_py(pilot)
        pilot.app.chat.prompt.input.cursor_blink = False  # type: ignore[attr-defined]

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)  # type: ignore[operator]


def test_main_screen_after_an_answer(snap_compare: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
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
        chat = pilot.app.chat  # type: ignore[attr-defined]
        await connected(pilot, pilot.app)  # type: ignore[arg-type]
        await select_models_py(pilot)
        chat.prompt.input.value = "what could go wrong with these models under load?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake_api.completed_streams == 1 and settled(pilot.app), what="the answer")
        chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
        chat.prompt.input.cursor_blink = False
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(160, 48), run_before=run_before)  # type: ignore[operator]
