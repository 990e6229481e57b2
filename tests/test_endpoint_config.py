"""The endpoint and the model as configured: an unusable ANTHROPIC_BASE_URL is a configuration
error said before any request (``ask`` exits 3), and ``ask --model`` is checked against the
endpoint's model list before the question goes out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from buddy_tui import cli
from buddy_tui.conversation.client import base_url_problem, connect, endpoint, precheck, url_problem
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.paths import history_path
from tests.fake_api import FakeAnthropic, HttpError, Reply

KEY = "sk-ant-test-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> FakeAnthropic:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    return fake_api


@pytest.fixture
def no_requests(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every HTTP request the SDK tries is recorded here and fails: the tests expect none."""
    tried: list[str] = []

    async def refuse(self: httpx2.AsyncClient, request: httpx2.Request, **kwargs: object) -> httpx2.Response:
        tried.append(str(request.url))
        raise httpx2.ConnectError("a request was made", request=request)

    monkeypatch.setattr(httpx2.AsyncClient, "send", refuse)
    return tried


def ask(*args: str) -> int:
    return cli.main(["ask", "--no-stdin", *args])


# ------------------------------------------------------------------------------------ the value


@pytest.mark.parametrize("value", ["", " ", "localhost:11434", "127.0.0.1:8080", "http://", "ftp://example.com",
                                   "http://[::1"])
def test_a_value_that_is_no_http_address_is_a_configuration_error(value: str) -> None:
    problem = url_problem(value)
    assert problem is not None and problem.startswith("ANTHROPIC_BASE_URL ")
    assert ("set but empty" in problem) == (not value.strip())
    assert "unset it to use anthropic's api" in problem.lower()


@pytest.mark.parametrize("value", [" http://localhost:11434", "http://localhost:11434 ", "http://localhost:11434\n"])
def test_spaces_around_the_address_are_a_configuration_error(value: str) -> None:
    """The SDK sends to the value as it is, space and all: say so before anything goes wrong."""
    problem = url_problem(value)
    assert problem is not None and "space or a line break" in problem


@pytest.mark.parametrize("value", ["http://localhost:11434", "https://proxy.example.com/anthropic/",
                                   "HTTP://127.0.0.1:8080", "http://[::1]:8080"])
def test_http_addresses_are_fine(value: str) -> None:
    assert url_problem(value) is None


def test_only_a_set_variable_is_judged_and_the_value_is_never_repeated() -> None:
    assert base_url_problem({}) is None and endpoint({}) == "https://api.anthropic.com"
    assert endpoint({"ANTHROPIC_BASE_URL": ""}) == ""  # as the SDK takes it: set, and empty
    problem = base_url_problem({"ANTHROPIC_BASE_URL": f"localhost:1/{KEY}"})
    assert problem is not None and KEY not in problem


def test_the_check_comes_before_credentials_and_before_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    early = precheck({"ANTHROPIC_BASE_URL": ""})  # no key either: the endpoint is said first
    assert early is not None and not early.ready and early.kind == "configuration"
    assert "ANTHROPIC_BASE_URL is set but empty" in early.message
    no_key = precheck({})
    assert no_key is not None and no_key.kind == "credentials"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    client, connection = connect(Settings())
    assert client is None and connection.kind == "configuration" and not connection.ready


# ------------------------------------------------------------------------------------ ask


@pytest.mark.parametrize("value", ["", "localhost:11434"])
def test_ask_with_an_unusable_endpoint_exits_3_without_a_request(
        project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_requests: list[str],
        value: str) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", value)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert ask("-C", str(project), "hi") == 3
    out, err = capsys.readouterr()
    assert out == "" and no_requests == []
    assert err.startswith("buddy-tui: error: ANTHROPIC_BASE_URL ") and err.count("\n") == 1
    assert ("set but empty" in err) == (value == "") and "retry" not in err.lower()
    assert not history_path().exists()  # nothing was asked, so nothing was stored


def test_ask_json_says_it_too(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              no_requests: list[str]) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "")
    assert ask("-C", str(project), "--format", "json", "hi") == 3
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"type": "error", "message": lines[0]["message"], "retryable": False}]
    assert "ANTHROPIC_BASE_URL is set but empty" in lines[0]["message"] and no_requests == []


def test_ask_in_a_real_process_with_an_empty_variable(project: Path, tmp_path: Path) -> None:
    env = {**os.environ, "ANTHROPIC_BASE_URL": "", "ANTHROPIC_API_KEY": KEY, "PYTHONPATH": str(ROOT),
           "BUDDY_TUI_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "buddy_tui", "ask", "-C", str(project), "hi"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 3, done.stderr
    assert done.stdout == "" and "ANTHROPIC_BASE_URL is set but empty" in done.stderr
    assert "UnsupportedProtocol" not in done.stderr and "Lost the connection" not in done.stderr


def test_ask_refuses_a_model_the_endpoint_does_not_offer(online: FakeAnthropic, project: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert ask("-C", str(project), "--model", "claude-sonet-4-5", "hi") == 2
    out, err = capsys.readouterr()
    assert out == "" and online.message_requests() == []
    assert err == ("buddy-tui: error: --model: The endpoint " + online.base_url + " does not offer a model called "
                   "claude-sonet-4-5. Did you mean claude-sonnet-4-5?\n")
    assert ask("-C", str(project), "--model", "claude-nonexistent-9", "hi") == 2
    assert "It offers claude-sonnet-4-5, claude-haiku-4-5." in capsys.readouterr().err


def test_ask_sends_a_listed_model_and_goes_ahead_when_there_is_no_list(
        online: FakeAnthropic, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    online.queue(Reply.of("one"), Reply.of("two"))
    assert ask("-C", str(project), "-q", "--model", "claude-haiku-4-5", "hi") == 0
    assert capsys.readouterr() == ("one", "")
    online.models_error = HttpError(404, "not_found_error", "Not Found")  # a local server without a list
    assert ask("-C", str(project), "-q", "--model", "qwen3-coder", "hi") == 0
    out, err = capsys.readouterr()
    assert out == "two"
    assert err.startswith("buddy-tui: --model: Could not check qwen3-coder against the model list of the "
                          f"endpoint {online.base_url} (it does not serve one: 404 for GET /v1/models).")
    assert [r.body["model"] for r in online.message_requests() if r.body] == ["claude-haiku-4-5", "qwen3-coder"]


def test_ask_without_model_does_not_ask_for_the_list(online: FakeAnthropic, project: Path) -> None:
    online.queue(Reply.of("ok"))
    assert ask("-C", str(project), "-q", "hi") == 0
    assert [r.path for r in online.requests] == ["/v1/messages"]
