"""Shared pytest fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from buddy_tui.personas import frontmatter_cache as metacache
from tests.fake_api import FakeAnthropic


@pytest.fixture
def fake_api() -> Iterator[FakeAnthropic]:
    """A started fake Anthropic API server, stopped after the test."""
    server = FakeAnthropic().start()
    try:
        yield server
    finally:
        server.stop()
    assert server.server_errors == [], f"fake API server raised: {server.server_errors!r}"


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the developer's own credentials, endpoint and SDK profiles out of every test."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ANTHROPIC_PROFILE",
                 "ANTHROPIC_CUSTOM_HEADERS", "ANTHROPIC_IDENTITY_TOKEN", "ANTHROPIC_IDENTITY_TOKEN_FILE",
                 "BUDDY_TUI_MODEL", "BUDDY_TUI_MAX_TOKENS", "BUDDY_TUI_PERSONA", "BUDDY_TUI_THEME",
                 "BUDDY_TUI_CONTEXT_BUDGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ANTHROPIC_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # no SDK profile on disk
    # An empty buddy-tui config folder, so the developer's own personas and commands never leak in.
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(tmp_path_factory.mktemp("buddy-config")))
    # No desktop clipboard: /copy must not touch the developer's, and the fallback file is what tests see.
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "WSL_DISTRO_NAME", "WSL_INTEROP"):
        monkeypatch.delenv(name, raising=False)
    # A fresh data folder too: every test starts with an empty history database.
    monkeypatch.setenv("BUDDY_TUI_DATA_DIR", str(tmp_path_factory.mktemp("buddy-data")))
    metacache.forget()  # parsed front matter is remembered per data folder


CLAUDE_FIXTURE = Path(__file__).parent / "fixtures" / "claude_project"


@pytest.fixture
def claude_project(tmp_path: Path) -> Path:
    """A copy of a project that already uses Claude Code: a .claude/ folder full of third-party
    agents, skills and commands (some messy, some broken), a .buddy/ persona override, CLAUDE.md."""
    root = tmp_path / "claude_project"
    shutil.copytree(CLAUDE_FIXTURE, root)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small backend project (see tests.helpers.make_project); modules with other needs define their own."""
    from tests.helpers import make_project

    return make_project(tmp_path / "orders")


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> FakeAnthropic:
    """Point the SDK at the fake server through its own environment variables."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    return fake_api


@pytest.fixture(autouse=True)
def isolated_claude_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty Claude Code user folder ($CLAUDE_CONFIG_DIR), so the developer's own ~/.claude
    agents never leak into a test; a test that needs user agents writes them here."""
    folder = tmp_path_factory.mktemp("claude-config")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(folder))
    return folder
