"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
                 "BUDDY_TUI_MODEL", "BUDDY_TUI_MAX_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ANTHROPIC_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))  # no SDK profile on disk
    # An empty buddy-tui config folder, so the developer's own personas and commands never leak in.
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(tmp_path_factory.mktemp("buddy-config")))
