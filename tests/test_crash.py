"""A bug never shows the user a traceback: one plain line, and a scrubbed report on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rich.text import Text

from buddy_tui.settings import crash_reports as crash
from tests.helpers import make_app, make_project, wait_until


def boom() -> None:
    raise ValueError("the widget fell over")


def test_report_is_written_and_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-very-secret-key")
    try:
        raise RuntimeError("failed with key sk-ant-very-secret-key")
    except RuntimeError as exc:
        report = crash.write_report(exc, tmp_path / "logs")
        line = crash.one_line(exc, report)
    assert report is not None and report.parent == tmp_path / "logs"
    text = report.read_text()
    assert "Traceback" in text and "RuntimeError" in text
    assert "sk-ant-very-secret-key" not in text and "<ANTHROPIC_API_KEY>" in text
    assert line == ("buddy-tui stopped after an unexpected error (RuntimeError: failed with key "
                    f"<ANTHROPIC_API_KEY>). Details: {report}")


async def test_app_crash_leaves_one_line_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crash, "user_log_path", lambda name: tmp_path / "logs")
    app = make_app(make_project(tmp_path / "p"))
    shown: list[object] = []
    monkeypatch.setattr(app, "_print_error_renderables", lambda: shown.extend(app._exit_renderables))
    with pytest.raises(ValueError, match="fell over"):
        async with app.run_test():
            app.call_later(boom)
            await wait_until(lambda: app.return_code is not None, what="the app to stop")
    assert len(shown) == 1 and isinstance(shown[0], Text)
    assert shown[0].plain.startswith("buddy-tui stopped after an unexpected error (ValueError: the widget fell over)")
    assert app.return_code == 1
    assert len(list((tmp_path / "logs").glob("crash-*.txt"))) == 1


@pytest.mark.parametrize("where", ["app", "widget", "worker"])
async def test_a_crash_anywhere_prints_one_line_when_the_app_ends(
        where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> None:
    """The whole run, as in a terminal: the app closes itself and stderr gets the line, no traceback."""
    monkeypatch.setattr(crash, "user_log_path", lambda name: tmp_path / "logs")
    app = make_app(make_project(tmp_path / "p"))

    async def crash_soon(pilot: object) -> None:
        if where == "app":
            app.call_later(boom)
        elif where == "widget":
            app.chat.call_later(boom)
        else:
            app.chat.run_worker(boom, thread=True)

    await asyncio.wait_for(app.run_async(headless=True, size=(120, 40), auto_pilot=crash_soon), timeout=20)
    err = capfd.readouterr().err
    assert "buddy-tui stopped after an unexpected error (" in err and "the widget fell over" in err
    assert "Traceback" not in err and "boom" not in err  # neither a traceback nor the code's names
    assert app.return_code == 1
    assert len(list((tmp_path / "logs").glob("crash-*.txt"))) == 1
