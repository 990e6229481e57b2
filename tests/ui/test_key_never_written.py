"""The API key reaches the API and nothing else: not the history database, an export, the
clipboard fallback, a crash report or a screenshot, even when the user pastes it, a file holds it
and the model repeats it."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.settings import crash_reports as crash
from buddy_tui.settings.paths import data_dir
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import caught_up, connected, make_app, settled, submit, wait_for

KEY = "sk-ant-api03-NEVER-WRITE-THIS-KEY-0123456789"


async def test_the_key_is_in_no_file_buddy_tui_writes(project: Path, online: FakeAnthropic, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    (project / "deploy.sh").write_text(f"#!/bin/sh\nexport ANTHROPIC_API_KEY={KEY}\n")
    online.queue(Reply.of(f"That key, {KEY}, is valid; rotate it since you pasted it here."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        preview = app.query_one(FilePreview)
        preview.show(project / "deploy.sh")
        await connected(pilot, app)
        await submit(pilot, app, f"is {KEY} a valid key?")
        await wait_for(pilot, lambda: settled(app) and "rotate" in app.query_one(AssistantMessage).text)
        headers = online.message_requests()[0].headers
        assert KEY in (headers.get("x-api-key", ""), headers.get("authorization", "").removeprefix("Bearer "))
        await submit(pilot, app, "/export conversation.md")
        await wait_for(pilot, lambda: (project / "conversation.md").exists())
        await submit(pilot, app, "/copy")
        await wait_for(pilot, lambda: (data_dir() / "clipboard.txt").exists())
        await caught_up(pilot, app)  # /copy has finished, its notice included
        # The screenshot shows the file that holds the key, as the preview draws it.
        await wait_for(pilot, lambda: preview.preview is not None and preview.preview.path == project / "deploy.sh",
                       what="deploy.sh in the preview")
        await pilot.pause()
        app.save_screenshot(str(tmp_path / "shot.svg"))
    report = crash.write_report(RuntimeError(f"request with {KEY} failed"), tmp_path / "logs")
    assert report is not None

    written = [*(p for p in data_dir().rglob("*") if p.is_file()), project / "conversation.md",
               tmp_path / "shot.svg", report]
    assert any(p.name.startswith("history.sqlite3") for p in written)
    for path in written:
        raw = path.read_bytes()
        assert KEY.encode() not in raw, f"the API key was written to {path}"
        assert b"NEVER-WRITE-THIS-KEY" not in raw, f"part of the API key was written to {path}"
    assert "ANTHROPIC_API_KEY" in (project / "conversation.md").read_text()  # shown by name instead
