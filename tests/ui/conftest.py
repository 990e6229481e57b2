"""Fixtures for the app tests: a sample project, and the SDK pointed at the fake API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fake_api import FakeAnthropic
from tests.helpers import make_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small backend project (see tests.helpers.make_project)."""
    return make_project(tmp_path / "orders")


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> FakeAnthropic:
    """Point the SDK at the fake server through its own environment variables."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    return fake_api
