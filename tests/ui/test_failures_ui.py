"""Every way the model call fails, through the app: the reply says what happened and what to do,
a partial answer is kept and marked, the question goes back into the prompt, the history stores
the failure, and Ctrl+R sends the very same turn again."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from textual.widgets import Static

from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import Cut, FakeAnthropic, Hang, HttpError, Reply, Script, StreamError
from tests.helpers import connected, make_app, settled, submit, text_of, turns_of, wait_for

QUESTION = "why does checkout time out under load?"
FAULTS: list[tuple[str, Script, str, str]] = [
    ("401", HttpError(401, "authentication_error", "invalid x-api-key"), "rejected the credentials (401)", ""),
    ("400 too long", HttpError(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
     "too long for the model: 210,000 tokens, the limit is 200,000", ""),
    ("429", HttpError(429, "rate_limit_error", "slow down", retry_after=30), "Try again in 30 s", ""),
    ("529", HttpError(529, "overloaded_error", "Overloaded"), "overloaded right now (529)", ""),
    ("500", HttpError(500, "api_error", "Internal server error"), "internal error (500)", ""),
    ("timeout", Hang(3.0), "No answer from", ""),
    ("cut", Cut(["The pool is ", "too small"]), "Lost the connection to the API during the reply",
     "The pool is too small"),
    ("in-stream error", StreamError(["The pool is ", "too small"]), "overloaded right now (during the reply)",
     "The pool is too small"),
]


def status(message: AssistantMessage) -> str:
    return text_of(message.query_one(".status", Static))


@pytest.mark.parametrize(("name", "fault", "words", "partial"), FAULTS, ids=[f[0] for f in FAULTS])
async def test_each_failure_ends_in_a_clear_state_and_ctrl_r_sends_the_same_turn(
        project: Path, online: FakeAnthropic, name: str, fault: Script, words: str, partial: str) -> None:
    (project / "pool.py").write_text("POOL_SIZE = 5\n")
    online.queue(fault, Reply.of("Raise the pool size and add a timeout."))
    # A short timeout only where the server hangs: elsewhere a loaded machine must not turn the
    # fault under test into a timeout.
    app = make_app(project, timeout=0.5 if name == "timeout" else 30)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, f"{QUESTION} @pool.py")
        await wait_for(pilot, lambda: settled(app) and "⚠" in status(app.query_one(AssistantMessage)), timeout=8,
                       what="the failure")
        reply = app.query_one(AssistantMessage)
        assert words in status(reply)
        assert reply.text == partial  # whatever arrived is kept...
        assert ("The answer above is incomplete." in status(reply)) is bool(partial)  # ...and marked
        assert app.chat.prompt.input.value == f"{QUESTION} @pool.py"  # nothing typed is lost
        db = Store(history_path())
        (summary,) = db.conversations(str(project))
        (turn,) = turns_of(db, summary.id)
        assert (turn.state, turn.reply) == ("failed", partial) and words.split(" (")[0][:20] in turn.failure
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(app.query(AssistantMessage)) == 2 and settled(app), timeout=8)
        assert app.query(AssistantMessage).last().text == "Raise the pool size and add a timeout."
        first, again = online.message_requests()[0].body, online.message_requests()[-1].body
        assert first is not None and again is not None
        assert again["messages"][-1]["content"] == first["messages"][-1]["content"]  # the same turn, files too
        assert "POOL_SIZE = 5" in again["messages"][-1]["content"][0]["text"]
        assert app.chat.prompt.input.value == ""
        assert [t.state for t in turns_of(db, summary.id)] == ["failed", "complete"]


async def test_connection_refused_is_retried_by_the_sdk_then_explained(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    app = make_app(project, max_retries=1)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, QUESTION)
        await wait_for(pilot, lambda: app.query(AssistantMessage) and "Could not connect, retrying" in status(
            app.query_one(AssistantMessage)), what="the SDK's retry shown")
        assert "attempt 2 of 2" in status(app.query_one(AssistantMessage))
        await wait_for(pilot, lambda: settled(app) and "⚠" in status(app.query_one(AssistantMessage)), timeout=8)
        shown = status(app.query_one(AssistantMessage))
        assert f"Could not connect to http://127.0.0.1:{port}" in shown and "after 2 attempts" in shown
        assert app.chat.prompt.input.value == QUESTION
