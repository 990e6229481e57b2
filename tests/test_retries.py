"""buddy-tui's own retries of a stream's opening: what is retried, how long it waits, how many
times, and that nothing else is (an opened stream, a client not built by ``connect``).

The rules are tested on their own with the SDK's public exception classes; the behaviour runs
the real SDK over loopback HTTP against the fake API server.
"""

from __future__ import annotations

import asyncio
import time

import anthropic
import httpx2
import pytest

from buddy_tui.conversation.chat import (
    Conversation,
    Counted,
    Retrying,
    TurnFailed,
    TurnFinished,
    build_request,
    stream_turn,
)
from buddy_tui.conversation.client import connect
from buddy_tui.conversation.documents import user_content
from buddy_tui.conversation.retries import (
    MAX_DELAY,
    MAX_HEADER_WAIT,
    Opening,
    RetryNotice,
    backoff,
    next_wait,
    retry_after,
    retryable,
    sleep_for,
)
from buddy_tui.personas.persona import Persona
from buddy_tui.settings.model_settings import Settings
from tests.fake_api import Cut, FakeAnthropic, HttpError, Reply

REQUEST = build_request(persona=Persona(name="backend", description="d", allowed_tools=(), prompt="p"),
                        conversation=Conversation(), user=user_content("Why slow?", []), model="claude-test",
                        max_tokens=64)
URL = "http://127.0.0.1:9/v1/messages"


def status_error(status: int, **headers: str) -> anthropic.APIStatusError:
    request = httpx2.Request("POST", URL)
    response = httpx2.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()}, request=request)
    return anthropic.APIStatusError("failed", response=response, body=None)


def connection_error(timeout: bool = False) -> anthropic.APIConnectionError:
    request = httpx2.Request("POST", URL)
    return anthropic.APITimeoutError(request) if timeout else anthropic.APIConnectionError(request=request)


def online(monkeypatch: pytest.MonkeyPatch, fake: FakeAnthropic, max_retries: int | None) -> anthropic.AsyncAnthropic:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    client, _ = connect(Settings(max_retries=max_retries))
    assert client is not None
    return client


# -- the rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "retried"), [(400, False), (401, False), (403, False), (404, False),
                                                  (408, True), (409, True), (413, False), (429, True),
                                                  (500, True), (502, True), (503, True), (504, True), (529, True)])
def test_statuses_worth_another_try(status: int, retried: bool) -> None:
    assert retryable(status_error(status)) is retried


def test_the_servers_x_should_retry_wins() -> None:
    assert retryable(status_error(400, x_should_retry="true"))
    assert not retryable(status_error(529, x_should_retry="false"))
    assert not retryable(status_error(503, x_should_retry="False"))
    assert retryable(status_error(503, x_should_retry="maybe"))  # neither word: the status decides


def test_no_answer_at_all_is_retried_and_nothing_else_is() -> None:
    assert retryable(connection_error()) and retryable(connection_error(timeout=True))
    assert not retryable(ValueError("a bug")) and not retryable(TypeError("no api key"))
    assert not retryable(asyncio.CancelledError()) and not retryable(KeyboardInterrupt())


def test_retry_after_is_read_in_every_form_the_server_sends() -> None:
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5  # the finer one wins
    assert retry_after({"retry-after-ms": "soon", "retry-after": "9"}) == 9.0
    assert retry_after({"retry-after": "0.25"}) == 0.25
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412490.0) == -10.0
    assert retry_after({"retry-after": "inf"}) is None and retry_after({"retry-after-ms": "nan"}) is None
    assert retry_after({"retry-after": "tomorrow"}) is None and retry_after({}) is None


def test_waits_follow_the_server_else_back_off_and_both_are_capped() -> None:
    assert [backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff(10_000) == MAX_DELAY  # no overflow however many retries
    assert next_wait(3, {"retry-after": "2"}) == (2.0, True)
    assert next_wait(1, {"retry-after": "0"}) == (1.0, False)  # zero or past: back off instead
    assert next_wait(0, {"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}) == (0.5, False)
    assert next_wait(0, {"retry-after": "86400"}) == (MAX_HEADER_WAIT, True)  # an absurd ask is capped
    assert next_wait(2, None) == (2.0, False)


def test_a_backoff_sleeps_a_little_less_than_announced_a_servers_wait_exactly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    backed_off = RetryNotice("server error (500)", 2.0, 2, 3, False)
    for draw, expected in ((0.0, 2.0), (0.5, 1.75), (0.999, 1.5005)):
        monkeypatch.setattr("buddy_tui.conversation.retries.random.random", lambda d=draw: d)
        assert sleep_for(backed_off) == pytest.approx(expected)
    assert sleep_for(RetryNotice("overloaded (529)", 2.0, 2, 3, True)) == 2.0


# -- one opening, tried again -----------------------------------------------------------------


async def test_an_opening_is_tried_as_often_as_allowed_then_fails_as_it_last_did() -> None:
    heard: list[RetryNotice] = []
    failures = [status_error(529, retry_after_ms="1"), connection_error(), status_error(503, retry_after_ms="2")]

    async def attempt() -> str:
        raise failures.pop(0)

    opening = Opening(2, heard.append)
    with pytest.raises(anthropic.APIStatusError) as info:
        await opening(attempt)
    assert info.value.status_code == 503 and failures == [] and opening.attempts == 3
    assert heard == opening.notices == [RetryNotice("overloaded (529)", 0.001, 2, 3, True),
                                        RetryNotice("connection lost", 1.0, 3, 3, False)]


async def test_an_opening_that_succeeds_after_a_retry_returns_its_result() -> None:
    outcomes: list[Exception | str] = [connection_error(timeout=True), "opened"]

    async def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    opening = Opening(1)
    assert await opening(attempt) == "opened" and opening.attempts == 2
    assert opening.notices == [RetryNotice("no answer in time", 0.5, 2, 2, False)]


async def test_what_is_not_worth_another_try_fails_at_once() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise status_error(400, retry_after_ms="1")

    opening = Opening(5)
    with pytest.raises(anthropic.APIStatusError):
        await opening(attempt)
    assert calls == opening.attempts == 1 and opening.notices == []


async def test_cancelling_an_attempt_is_never_retried() -> None:
    started = asyncio.Event()
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.Event().wait()  # a request that never answers
        return "never"

    task = asyncio.create_task(Opening(3)(attempt))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)
    assert calls == 1


# -- how many times, and when -------------------------------------------------------------------


def test_the_count_comes_from_the_settings_and_the_sdk_never_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789")
    for asked, allowed in ((None, 2), (0, 0), (1, 1), (7, 7), (-3, 0)):
        client, _ = connect(Settings(max_retries=asked))
        assert client is not None and client.max_retries == allowed  # spent by Opening, never by the SDK


@pytest.mark.parametrize(("max_retries", "attempts"), [(None, 3), (0, 1), (1, 2), (3, 4)])
async def test_a_turn_makes_as_many_attempts_as_the_settings_allow(
        monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic, max_retries: int | None, attempts: int) -> None:
    fake_api.queue(*[HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=5)] * 5, Reply(["late"]))
    heard: list[Retrying] = []
    client = online(monkeypatch, fake_api, max_retries)
    events = [e async for e in stream_turn(client, REQUEST, on_retry=heard.append)]
    final = events[-1]
    assert isinstance(final, TurnFailed) and final.failure.attempts == attempts
    assert [(r.notice.attempt, r.notice.attempts) for r in heard] == [(n, attempts) for n in range(2, attempts + 1)]
    assert len(fake_api.message_requests()) == attempts and fake_api.pending == 6 - attempts


async def test_each_notice_arrives_before_its_wait(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(503, "api_error", "busy", retry_after=0.3), Reply(["ok"]))
    told: list[tuple[int, float]] = []

    def retrying(_: Retrying) -> None:
        told.append((len(fake_api.message_requests()), time.monotonic()))

    events = [e async for e in stream_turn(online(monkeypatch, fake_api, 2), REQUEST, on_retry=retrying)]
    assert isinstance(events[-1], TurnFinished) and len(fake_api.message_requests()) == 2
    ((requests_by_then, at),) = told
    assert requests_by_then == 1 and time.monotonic() - at >= 0.3  # the whole wait came after the notice


async def test_a_stream_that_opened_is_never_retried(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(Cut(["Half "]), Reply(["whole"]))
    heard: list[Retrying] = []
    client = online(monkeypatch, fake_api, 3)
    events = [e async for e in stream_turn(client, REQUEST, on_retry=heard.append) if not isinstance(e, Counted)]
    final = events[-1]
    assert isinstance(final, TurnFailed) and final.partial == "Half " and final.failure.attempts == 1
    assert heard == [] and len(fake_api.message_requests()) == 1 and fake_api.pending == 1


async def test_a_client_not_built_by_connect_gets_no_retries_from_the_turn(fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=5), Reply(["fine"]))
    client = anthropic.AsyncAnthropic(api_key="k", base_url=fake_api.base_url, max_retries=0)
    heard: list[Retrying] = []
    events = [e async for e in stream_turn(client, REQUEST, on_retry=heard.append)]
    assert isinstance(events[-1], TurnFailed) and heard == [] and len(fake_api.message_requests()) == 1


async def test_cancelling_during_a_wait_stops_at_once(monkeypatch: pytest.MonkeyPatch, fake_api: FakeAnthropic) -> None:
    fake_api.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after=30), Reply(["too late"]))
    told = asyncio.Event()
    seen: list[object] = []
    client = online(monkeypatch, fake_api, 2)

    async def consume() -> None:
        async for event in stream_turn(client, REQUEST, on_retry=lambda _: told.set()):
            seen.append(event)

    task = asyncio.create_task(consume())
    await asyncio.wait_for(told.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)  # far less than the 30 s the server asked for
    assert seen == [] and len(fake_api.message_requests()) == 1 and fake_api.pending == 1
