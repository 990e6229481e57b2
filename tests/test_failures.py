"""Every way a model call can fail ends in a clear state, and buddy-tui's retries are announced.

These run the real SDK, built by ``connect`` (so the settings' retry count applies), over
loopback HTTP against the fake API server.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
from anthropic import AsyncAnthropic

from buddy_tui.conversation import retries
from buddy_tui.conversation.chat import (
    Conversation,
    Counted,
    Retrying,
    TextDelta,
    TurnFailed,
    TurnFinished,
    build_request,
    stream_turn,
)
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.documents import user_content
from buddy_tui.conversation.errors import RETRY, TOO_BIG, Failure, describe_error
from buddy_tui.conversation.retries import (
    RetryNotice,
    backoff,
    next_wait,
    retry_after,
    should_retry_status,
)
from buddy_tui.personas.persona import Persona
from buddy_tui.settings.model_settings import Settings
from tests.fake_api import Cut, FakeAnthropic, Hang, HttpError, Reply, StreamError

PERSONA = Persona(name="backend", description="d", allowed_tools=(), prompt="You are the backend persona.")
REQUEST = build_request(persona=PERSONA, conversation=Conversation(), user=user_content("Why slow?", []),
                        model="claude-test", max_tokens=64)


def online(monkeypatch: pytest.MonkeyPatch, base_url: str, max_retries: int | None = None,
           timeout: float | None = None) -> AsyncAnthropic:
    """A client built the app's way, pointed at ``base_url`` through the SDK's environment."""
    monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    client, connection = connect(Settings(max_retries=max_retries, timeout=timeout))
    assert client is not None and connection.ready
    return client


async def run(client: AsyncAnthropic) -> tuple[list[object], list[RetryNotice]]:
    """The events of one turn, and the retry notices it heard meanwhile."""
    heard: list[Retrying] = []
    events: list[object] = [e async for e in stream_turn(client, REQUEST, on_retry=heard.append)
                            if not isinstance(e, Counted)]
    return events, [r.notice for r in heard]


def failed(events: list[object]) -> Failure:
    final = events[-1]
    assert isinstance(final, TurnFailed), final
    return final.failure


def free_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- the notices themselves -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("notice", "remaining", "text"),
    [
        (RetryNotice("overloaded (529)", 4.0, 2, 3, True), None, "overloaded (529), retrying in 4 s, attempt 2 of 3"),
        (RetryNotice("overloaded (529)", 4.0, 2, 3, True), 2.2, "overloaded (529), retrying in 3 s, attempt 2 of 3"),
        (RetryNotice("could not connect", 1.0, 3, 3, False), None, "could not connect, retrying in about 1 s, "
                                                                  "attempt 3 of 3"),
        (RetryNotice("rate limited (429)", 0.03, 2, 2, True), None, "rate limited (429), retrying in <1 s, "
                                                                   "attempt 2 of 2"),
        (RetryNotice("server error (500)", 2.0, 2, 3, False), 0.0, "server error (500), retrying now, attempt 2 of 3"),
    ],
)
def test_notice_describes_the_wait(notice: RetryNotice, remaining: float | None, text: str) -> None:
    assert notice.describe(remaining) == text


def test_waits_are_read_from_the_servers_headers() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "1.5"}) == 1.5
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None
    assert [backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert next_wait(1, {"retry-after": "3"}) == (3.0, True)
    assert next_wait(1, {"retry-after": "0"}) == (1.0, False)  # a zero wait is ignored
    assert next_wait(0, None) == (0.5, False)
    assert should_retry_status(400, {"x-should-retry": "true"}) and not should_retry_status(529, {
        "x-should-retry": "false"})
    assert [s for s in (400, 401, 404, 408, 409, 413, 429, 500, 503, 529) if should_retry_status(s, {})] == [
        408, 409, 429, 500, 503, 529]


def test_connect_turns_the_sdks_retries_off_and_takes_the_count_from_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    client = online(monkeypatch, "http://127.0.0.1:1")
    assert client.max_retries == 2
    client = online(monkeypatch, "http://127.0.0.1:1", max_retries=5)
    assert client.max_retries == 5
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    local, connection = connect(Settings(max_retries=1))  # the keyless local-server client too
    assert connection.auth == "none (local server)" and local is not None
    assert local.max_retries == 1


# -- retries announced before each wait ------------------------------------------------------


async def test_overloaded_twice_then_an_answer(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=30),
                   HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=30), Reply(["fine"]))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=2))
    assert notices == [RetryNotice("overloaded (529)", 0.03, 2, 3, True),
                       RetryNotice("overloaded (529)", 0.03, 3, 3, True)]
    assert notices[0].describe() == "overloaded (529), retrying in <1 s, attempt 2 of 3"
    assert events[0] == TextDelta("fine")
    assert isinstance(events[-1], TurnFinished) and events[-1].text == "fine"
    assert len(fake_api.message_requests()) == 3


async def test_rate_limit_waits_as_long_as_asked(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(429, "rate_limit_error", "slow down", retry_after=0.2), Reply(["ok"]))
    waits: list[float] = []
    chosen = retries.sleep_for

    def recording(notice: RetryNotice) -> float:
        waits.append(chosen(notice))
        return waits[-1]

    monkeypatch.setattr(retries, "sleep_for", recording)
    events, notices = await run(online(monkeypatch, fake_api.base_url))
    assert notices == [RetryNotice("rate limited (429)", 0.2, 2, 3, True)]
    assert waits == [0.2]  # the turn did sleep what the notice said
    assert isinstance(events[-1], TurnFinished)


async def test_server_error_without_retry_after_reports_the_backoff(
    monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic
) -> None:
    fake_api.queue(HttpError(500, "api_error", "boom"), Reply(["ok"]))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=1))
    assert notices == [RetryNotice("server error (500)", 0.5, 2, 2, False)]
    assert notices[0].describe() == "server error (500), retrying in <1 s, attempt 2 of 2"
    assert isinstance(events[-1], TurnFinished)


async def test_should_retry_header_wins(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    client = online(monkeypatch, fake_api.base_url, max_retries=2)
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=10, should_retry=False))
    events, notices = await run(client)
    assert notices == [] and len(fake_api.message_requests()) == 1
    failure = failed(events)
    assert (failure.kind, failure.status, failure.attempts) == ("overloaded", 529, 1)
    assert failure.title == "The API is overloaded right now (529). The API said: Overloaded"
    fake_api.queue(HttpError(400, "invalid_request_error", "try me again", retry_after_ms=10, should_retry=True),
                   Reply(["second time lucky"]))
    events, notices = await run(client)
    assert notices == [RetryNotice("error (400)", 0.01, 2, 3, True)]
    assert isinstance(events[-1], TurnFinished)


async def test_retries_exhausted_fails_after_the_notices(
    monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic
) -> None:
    fake_api.queue(*[HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=10)] * 3, Reply(["late"]))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=2))
    assert [(n.attempt, n.attempts) for n in notices] == [(2, 3), (3, 3)]
    failure = failed(events)
    assert failure.title == "The API is overloaded right now (529, after 3 attempts). The API said: Overloaded"
    assert failure.hint == "Wait a moment. " + RETRY and failure.retryable and failure.attempts == 3
    assert len(fake_api.message_requests()) == 3 and fake_api.pending == 1


async def test_a_failing_listener_never_breaks_the_request(
    monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic
) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=10), Reply(["still fine"]))

    def broken(event: Retrying) -> None:
        raise RuntimeError("listener bug")

    client = online(monkeypatch, fake_api.base_url)
    events = [e async for e in stream_turn(client, REQUEST, on_retry=broken)]
    assert isinstance(events[-1], TurnFinished) and events[-1].text == "still fine"


async def test_each_turn_hears_only_its_own_retries(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=50),
                   HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=50), Reply(["a"]), Reply(["a"]))
    client = online(monkeypatch, fake_api.base_url)
    (first, heard_first), (second, heard_second) = await asyncio.gather(run(client), run(client))
    assert heard_first == heard_second == [RetryNotice("overloaded (529)", 0.05, 2, 3, True)]
    assert isinstance(first[-1], TurnFinished) and isinstance(second[-1], TurnFinished)


async def test_connection_refused_names_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    events, notices = await run(online(monkeypatch, url, max_retries=1))
    assert notices == [RetryNotice("could not connect", 0.5, 2, 2, False)]
    assert notices[0].describe() == "could not connect, retrying in <1 s, attempt 2 of 2"
    failure = failed(events)
    assert (failure.kind, failure.retryable, failure.attempts) == ("connection", True, 2)
    assert failure.title == f"Could not connect to {url}: connection refused (after 2 attempts)."
    assert failure.hint.startswith(f"Nothing is listening at {url}: start that server, or point "
                                   "ANTHROPIC_BASE_URL at the right address")
    assert failure.hint.endswith(RETRY)


async def test_no_answer_before_the_timeout(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(Hang(1.0), Hang(1.0))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=1, timeout=0.3))
    assert notices == [RetryNotice("no answer in time", 0.5, 2, 2, False)]
    failure = failed(events)
    assert (failure.kind, failure.retryable) == ("timeout", True)
    assert failure.title == f"No answer from {fake_api.base_url} within 0.3 s (after 2 attempts)."
    assert failure.hint == f"Check your connection and that server. {RETRY}"
    assert events == [events[-1]]  # nothing else happened


async def test_timeout_without_retries(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(Hang(1.0))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=0, timeout=0.3))
    assert notices == []
    assert failed(events).title == f"No answer from {fake_api.base_url} within 0.3 s."


# -- failures that are not retried -----------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "kind", "title", "hint", "retryable"),
    [
        (HttpError(401, "authentication_error", "invalid x-api-key"), "auth",
         "The API rejected the credentials (401). The API said: invalid x-api-key",
         "Check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) and restart buddy-tui.", False),
        (HttpError(400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
         "bad_request", "The conversation is too long for the model: 210,000 tokens, the limit is 200,000 (400).",
         TOO_BIG, False),
        (HttpError(413, "request_too_large", "Request exceeds the maximum allowed number of bytes."), "bad_request",
         "The request is too large for the API (413). The API said: Request exceeds the maximum allowed number "
         "of bytes.", TOO_BIG, False),
        (HttpError(529, "overloaded_error", "Overloaded"), "overloaded",
         "The API is overloaded right now (529). The API said: Overloaded", "Wait a moment. " + RETRY, True),
        (HttpError(500, "api_error", "Internal server error"), "server",
         "The API had an internal error (500). The API said: Internal server error", RETRY, True),
    ],
)
async def test_status_failures(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic, script: HttpError,
                               kind: str, title: str, hint: str, retryable: bool) -> None:
    fake_api.queue(script)
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=0))
    failure = failed(events)
    assert (failure.kind, failure.title, failure.hint, failure.retryable, failure.status) == (
        kind, title, hint, retryable, script.status)
    assert notices == [] and events == [events[-1]]


async def test_rate_limit_says_when_to_try_again(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(429, "rate_limit_error", "Number of requests has exceeded your rate limit",
                             retry_after=30))
    events, _ = await run(online(monkeypatch, fake_api.base_url, max_retries=0))
    failure = failed(events)
    assert failure.title == ("Rate limited by the API (429). The API said: Number of requests has exceeded your "
                             "rate limit")
    assert failure.hint.startswith("Try again in 30 s (at ") and failure.hint.endswith(
        "), as the API asks; /retry sends your question again.")


async def test_a_cut_mid_reply_keeps_the_partial_and_is_not_retried(
    monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic
) -> None:
    fake_api.queue(Cut(["Half an ", "answer"]))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=2))
    assert events[:2] == [TextDelta("Half an "), TextDelta("answer")]
    final = events[-1]
    assert isinstance(final, TurnFailed) and final.partial == "Half an answer"
    assert final.failure.kind == "connection" and final.failure.retryable
    assert final.failure.title.startswith("Lost the connection to the API during the reply (")
    assert final.failure.hint == RETRY  # the app marks the partial answer above as incomplete
    assert notices == [] and len(fake_api.message_requests()) == 1  # an open stream is never retried


async def test_an_error_event_in_the_stream(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(StreamError(["So far "], "overloaded_error", "Overloaded"))
    events, notices = await run(online(monkeypatch, fake_api.base_url, max_retries=2))
    final = events[-1]
    assert isinstance(final, TurnFailed) and final.partial == "So far "
    assert (final.failure.kind, final.failure.status, final.failure.retryable) == ("overloaded", None, True)
    assert final.failure.title == "The API is overloaded right now (during the reply). The API said: Overloaded"
    assert notices == [] and len(fake_api.message_requests()) == 1


async def test_retried_then_failed_in_the_stream_counts_no_give_up(
    monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic
) -> None:
    """A stream that opened after a retry and then broke did not fail 'after N attempts'."""
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=10),
                   StreamError(["x"], "api_error", "Internal server error"))
    events, notices = await run(online(monkeypatch, fake_api.base_url))
    assert len(notices) == 1
    assert failed(events).title == "The API had an internal error (during the reply). The API said: Internal " \
                                   "server error"


def test_unexpected_errors_still_read_well() -> None:
    failure = describe_error(ValueError("bad value\nmore"))
    assert (failure.kind, failure.title, failure.hint) == ("unexpected", "Unexpected error: ValueError: bad value",
                                                            RETRY)


async def test_a_reply_that_fails_mid_stream_still_reports_the_tokens_counted(
        fake_api: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_api.queue(StreamError(["Half "], delay=0.01))
    events, _ = await run(online(monkeypatch, fake_api.base_url, max_retries=0))
    final = events[-1]
    assert isinstance(final, TurnFailed) and final.partial == "Half "
    assert final.usage.input_tokens == 25  # message_start's count, as the fake API sends it
