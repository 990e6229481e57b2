"""A model named in the app is checked against the endpoint's list before it is used or
remembered; an unusable ANTHROPIC_BASE_URL is said in the chat, and nothing is sent with it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static

from buddy_tui.settings.ui_state import UiState
from buddy_tui.ui.screens.models import ModelScreen
from buddy_tui.ui.widgets.transcript import Note
from tests.fake_api import FakeAnthropic, HttpError, Reply
from tests.helpers import connected, make_app, settled, submit, text_of, wait_for


def notes(app: object) -> list[str]:
    return [text_of(n) for n in app.query(Note)]  # type: ignore[attr-defined]


def model_checks(fake: FakeAnthropic) -> int:
    return sum(r.path == "/v1/models" for r in fake.requests)


async def test_an_unknown_model_is_refused_and_never_remembered(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        before = app.session.settings.model
        await connected(pilot, app)
        await submit(pilot, app, "/model claude-nonexistent-9")
        await wait_for(pilot, lambda: any("does not offer" in n for n in notes(app)), what="the refusal")
        refusal = next(n for n in notes(app) if "does not offer" in n)
        assert refusal == (f"The endpoint {online.base_url} does not offer a model called claude-nonexistent-9. "
                           "It offers claude-sonnet-4-5, claude-haiku-4-5. The model stays "
                           f"{before}; /model lists the ones on offer.")
        assert app.session.settings.model == before
        assert UiState.load().model_for(project) is None
        await submit(pilot, app, "/model claude-sonet-4-5")  # a typo gets the name it was meant to be
        await wait_for(pilot, lambda: any("Did you mean claude-sonnet-4-5?" in n for n in notes(app)))
        assert online.message_requests() == [] and app.session.settings.model == before


async def test_a_listed_model_is_used_and_remembered_even_before_the_client_exists(
        project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["ok"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.chat.client is None  # the SDK loads when needed: the check waits for it
        await submit(pilot, app, "/model claude-haiku-4-5")
        await wait_for(pilot, lambda: app.session.settings.model == "claude-haiku-4-5", what="the switch")
        assert UiState.load().model_for(project) == "claude-haiku-4-5" and model_checks(online) == 1
        assert text_of(app.chat.query_one("#connection", Static)).startswith("claude-haiku-4-5 @ http://")
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        body = online.message_requests()[0].body
        assert body is not None and body["model"] == "claude-haiku-4-5"


async def test_without_a_list_the_model_is_for_this_session_only(project: Path, online: FakeAnthropic) -> None:
    online.models_error = HttpError(404, "not_found_error", "Not Found")  # e.g. a local llama.cpp server
    UiState.load().remember_model(project, "earlier-pick")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "/model qwen3-coder")
        await wait_for(pilot, lambda: app.session.settings.model == "qwen3-coder", what="the switch")
        await wait_for(pilot, lambda: any("session only" in n for n in notes(app)), what="the warning")
        warning = next(n for n in notes(app) if "session only" in n)
        assert warning.startswith(f"Could not check qwen3-coder against the model list of the endpoint "
                                  f"{online.base_url} (it does not serve one: 404 for GET /v1/models). "
                                  "Using qwen3-coder for this session only")
        assert UiState.load().model_for(project) == "earlier-pick"


async def test_a_name_typed_in_the_picker_is_checked_too(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        before = app.session.settings.model
        await connected(pilot, app)
        await submit(pilot, app, "/model")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen) and app.screen.choices, what="the picker")
        await pilot.press(*"claude-nonexistent-9", "enter")  # offered as "use this name as typed"
        await wait_for(pilot, lambda: any("does not offer" in n for n in notes(app)), what="the refusal")
        assert app.session.settings.model == before and UiState.load().model_for(project) is None


async def test_model_at_start_is_checked_and_warned_about(project: Path, online: FakeAnthropic) -> None:
    from buddy_tui.ui.app import BuddyApp

    session = make_app(project).session  # as buddy-tui --model claude-nonexistent-9 opens it
    session.settings = replace(session.settings, model="claude-nonexistent-9")
    app = BuddyApp(session, check_model="claude-nonexistent-9")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any(n.startswith("--model: ") for n in notes(app)), what="the warning")
        warning = next(n for n in notes(app) if n.startswith("--model: "))
        assert "does not offer a model called claude-nonexistent-9" in warning and "/model" in warning
        assert app.session.settings.model == "claude-nonexistent-9"  # a warning, not a change
        assert online.message_requests() == []


@pytest.mark.parametrize(("value", "said"), [("", "ANTHROPIC_BASE_URL is set but empty"),
                                              ("localhost:11434", "is not an http:// or https:// address")])
async def test_an_unusable_endpoint_is_said_and_nothing_is_sent(
        project: Path, monkeypatch: pytest.MonkeyPatch, value: str, said: str) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", value)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any(said in n for n in notes(app)), what="the configuration error")
        assert text_of(app.chat.query_one("#connection", Static)).endswith("· ANTHROPIC_BASE_URL unusable")
        await submit(pilot, app, "why is load_orders slow?")
        await wait_for(pilot, lambda: sum(said in n for n in notes(app)) == 2, what="the error again on sending")
        assert app.chat.client is None and app.session.turns == [] and not app.chat.busy
        assert app.chat.prompt.input.value == "why is load_orders slow?"  # kept for when it is fixed
        assert not any("Lost the connection" in n or "retrying" in n for n in notes(app))
