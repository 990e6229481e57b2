"""A Grep whose pattern backtracks for ever must leave the app responsive: keys are handled and
Esc stops the turn while the search is still running (Python's re held the GIL and froze all of it)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.tools import matching, workspace as tools_module
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import chat_worker_done, connected, make_app, settled, wait_for


async def test_keys_and_escape_work_while_a_catastrophic_grep_runs(project: Path, online: FakeAnthropic,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "aaa.txt").write_text("a" * 60 + "!\n")
    monkeypatch.setattr(matching, "MATCH_SECONDS", 10.0)  # long enough to act while it runs
    monkeypatch.setattr(tools_module, "GREP_SECONDS", 10.0)
    started, finished = threading.Event(), threading.Event()
    real_search = matching.search

    def watched(pattern: Any, text: str, deadline: float) -> Any:
        slow = "aaaa!" in text and pattern.pattern == "(a|aa)+$"
        if slow:
            started.set()
        try:
            return real_search(pattern, text, deadline)
        finally:
            if slow:
                finished.set()

    monkeypatch.setattr(tools_module, "search", watched)
    online.queue(Reply(["Searching. "], tools=[ToolUse("g1", "Grep", {"pattern": "(a|aa)+$", "path": "aaa.txt"})]),
                 Reply(["never asked for"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "find it"
        await pilot.press("enter")
        await wait_for(pilot, started.is_set, timeout=20, what="the search to start")
        app.chat.prompt.input.focus()
        await pilot.press("x", "y")
        await wait_for(pilot, lambda: app.chat.prompt.input.value.endswith("xy"), what="the typed keys")
        assert not finished.is_set()  # the keys were handled while the pattern was still running
        await pilot.press("escape")
        await wait_for(pilot, lambda: settled(app) and chat_worker_done(app), timeout=20, what="the stop")
        assert not finished.is_set()  # Esc ended the turn without waiting for the search
        assert len(online.message_requests()) == 1  # nothing more was sent
    finished.wait(60)  # let the matcher's thread end (its own deadline) before the next test
