"""A user name and password in ANTHROPIC_BASE_URL (a proxy's address, http://user:pass@host:port)
are used to connect but never shown, printed or stored: not in the chat, not on the stderr of
``ask``, not in the history database, not in a crash report."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from buddy_tui import cli
from buddy_tui.conversation.client import Connection, endpoint
from buddy_tui.settings.crash_reports import one_line, scrub, without_userinfo, write_report
from buddy_tui.settings.paths import history_path
from tests.helpers import connected, make_app, settled, submit, wait_for

PASSWORD = "Pr0xy-Passw0rd-7731"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> str:
    """An address with credentials where nothing listens: every request fails to connect."""
    url = f"http://proxyuser:{PASSWORD}@127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    return url


def history_bytes() -> bytes:
    folder = history_path().parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file()) if folder.exists() else b""


def test_ask_names_the_address_without_its_credentials(proxied: str, project: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["ask", "--no-stdin", "-C", str(project), "hello"])
    err = capsys.readouterr().err
    assert code != 0 and "127.0.0.1" in err  # it says where it could not connect...
    assert PASSWORD not in err and "proxyuser" not in err  # ...but not with what
    stored = history_bytes()
    assert stored and PASSWORD.encode() not in stored and b"proxyuser" not in stored


async def test_the_app_shows_the_failure_without_the_credentials(proxied: str, project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(120, 40)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: settled(app), timeout=20, what="the failure")
        screen = app.export_screenshot()
        assert "127.0.0.1" in screen and PASSWORD not in screen and "proxyuser" not in screen
        turn = app.chat.engine.session.turns[-1]
        assert PASSWORD not in repr(turn)
    assert PASSWORD.encode() not in history_bytes()


def test_addresses_lose_their_credentials_wherever_they_are_shown(proxied: str, tmp_path: Path) -> None:
    assert PASSWORD not in endpoint() and endpoint().startswith("http://127.0.0.1:")
    assert Connection(True, proxied, "API key").base_url == endpoint()
    assert without_userinfo("via https://u:p@ss@proxy.example:3128/v1 and ftp://x@y") == \
        "via https://proxy.example:3128/v1 and ftp://y"
    error = RuntimeError(f"proxy {proxied} refused; password was {PASSWORD}")
    report = write_report(error, tmp_path)
    assert report is not None and PASSWORD not in report.read_text() and "proxyuser" not in report.read_text()
    assert PASSWORD not in one_line(error, report) and PASSWORD not in scrub(f"{PASSWORD}")
