"""A model name checked against the endpoint's own list, with the real SDK against the fake API,
whose GET /v1/models pages as the real one does (data, has_more, first_id, last_id)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

import anthropic
import pytest

from buddy_tui.conversation.models import ModelCheck, check_model, close_models, listed_models
from tests.fake_api import FakeAnthropic, HttpError, model_info


@asynccontextmanager
async def client_of(fake: FakeAnthropic) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="sk-ant-test", max_retries=0) as client:
        yield client


async def checked(fake: FakeAnthropic, name: str) -> ModelCheck:
    async with client_of(fake) as client:
        return await check_model(client, name)


def test_the_fake_pages_the_model_list_like_the_real_api(fake_api: FakeAnthropic) -> None:
    fake_api.models = [model_info(f"m{i}") for i in range(5)]
    client = anthropic.Anthropic(base_url=fake_api.base_url, api_key="sk-ant-test", max_retries=0)
    first = client.models.list(limit=2)
    assert [m.id for m in first.data] == ["m0", "m1"]
    assert (first.has_more, first.first_id, first.last_id) == (True, "m0", "m1")
    after = client.models.list(limit=2, after_id="m3")
    assert [m.id for m in after.data] == ["m4"] and after.has_more is False
    before = client.models.list(limit=2, before_id="m3")
    assert [m.id for m in before.data] == ["m1", "m2"] and before.has_more is True
    assert [m.id for m in client.models.list(limit=2)] == [f"m{i}" for i in range(5)]  # the SDK follows has_more
    assert len(client.models.list().data) == 5  # 20 by default
    with pytest.raises(anthropic.BadRequestError):
        client.models.list(limit=0)
    queries = [parse_qs(r.query) for r in fake_api.requests if r.path == "/v1/models"]
    assert queries[:3] == [{"limit": ["2"]}, {"limit": ["2"], "after_id": ["m3"]},
                           {"limit": ["2"], "before_id": ["m3"]}]


async def test_every_page_is_read(fake_api: FakeAnthropic) -> None:
    fake_api.models = [model_info(f"local-{i}") for i in range(7)]
    fake_api.models_page_cap = 3  # the server sends fewer than asked: only has_more says there is more
    async with client_of(fake_api) as client:
        assert [m.id for m in await listed_models(client)] == [f"local-{i}" for i in range(7)]
        assert (await check_model(client, "local-6")).verdict == "listed"
    assert [parse_qs(r.query).get("after_id") for r in fake_api.requests][:3] == [None, ["local-2"], ["local-5"]]


@pytest.mark.parametrize("name", ["claude-haiku-4-5-20251001", "claude-haiku-4-5", "claude-sonnet-4-5"])
async def test_a_listed_model_or_its_alias_passes(fake_api: FakeAnthropic, name: str) -> None:
    assert await checked(fake_api, name) == ModelCheck(name, "listed")


async def test_a_local_servers_latest_tag_may_be_left_out(fake_api: FakeAnthropic) -> None:
    fake_api.models = [model_info("qwen3-coder:latest"), model_info("llama3.2:3b")]
    assert (await checked(fake_api, "qwen3-coder")).verdict == "listed"
    check = await checked(fake_api, "llama3.2")
    assert check.verdict == "unknown" and check.close == ("llama3.2:3b",)


async def test_an_alias_the_list_does_not_show_is_asked_about_by_name(fake_api: FakeAnthropic) -> None:
    fake_api.models = [model_info("claude-sonnet-4-5-20250929")]
    fake_api.unlisted_models = [model_info("claude-opus-4-0-20250514")]  # e.g. deprecated, left out of the list
    assert (await checked(fake_api, "claude-opus-4-0")).verdict == "listed"
    assert [r.path for r in fake_api.requests][-1] == "/v1/models/claude-opus-4-0"


async def test_an_unknown_name_is_refused_with_the_nearest_names(fake_api: FakeAnthropic) -> None:
    typo = await checked(fake_api, "claude-sonet-4-5")
    assert typo.verdict == "unknown" and typo.close == ("claude-sonnet-4-5",)
    assert typo.describe("Anthropic's API") == ("Anthropic's API does not offer a model called claude-sonet-4-5. "
                                                 "Did you mean claude-sonnet-4-5?")
    nonsense = await checked(fake_api, "claude-nonexistent-9")
    assert nonsense.verdict == "unknown" and nonsense.close == ()
    assert nonsense.offered == ("claude-sonnet-4-5", "claude-haiku-4-5")
    assert "It offers claude-sonnet-4-5, claude-haiku-4-5." in nonsense.describe("x")
    assert fake_api.message_requests() == []


@pytest.mark.parametrize(("error", "reason"), [
    (HttpError(404, "not_found_error", "Not Found"), "it does not serve one: 404 for GET /v1/models"),
    (HttpError(500, "api_error", "boom"), "internal error (500)"),
    (HttpError(401, "authentication_error", "invalid x-api-key"), "key"),
])
async def test_no_list_means_nobody_can_tell(fake_api: FakeAnthropic, error: HttpError, reason: str) -> None:
    fake_api.models_error = error
    check = await checked(fake_api, "qwen3-coder")
    assert check.verdict == "unverified" and reason.lower() in check.reason.lower(), check.reason
    assert check.describe("the endpoint http://x").startswith("Could not check qwen3-coder against the model "
                                                             "list of the endpoint http://x (")


async def test_a_failed_lookup_of_one_name_is_no_answer_only_404_says_no(fake_api: FakeAnthropic) -> None:
    """A name the list lacks is looked up on its own; a 5xx or a 429 there says nothing about it."""
    fake_api.model_lookup_error = HttpError(529, "overloaded_error", "Overloaded")
    check = await checked(fake_api, "claude-opus-9")
    assert check.verdict == "unverified" and "overloaded" in check.reason.lower(), check.reason
    fake_api.model_lookup_error = None
    assert (await checked(fake_api, "claude-opus-9")).verdict == "unknown"  # the lookup's 404

async def test_an_unreachable_endpoint_is_unverified_too() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with anthropic.AsyncAnthropic(base_url=f"http://127.0.0.1:{port}", api_key="k", max_retries=0) as client:
        found = await check_model(client, "claude-haiku-4-5")
    assert found.verdict == "unverified" and "connect" in found.reason.lower(), found.reason


def test_close_names_are_close_and_shown_by_their_alias() -> None:
    ids = ["claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    assert close_models("claude-haiku-4.5", ids) == ("claude-haiku-4-5",)
    assert close_models("claude-sonnet-4-6", ids) == ("claude-sonnet-4-5",)
    assert close_models("claude-opus-4-1", ids) == ()  # sharing 'claude-' is not being close
