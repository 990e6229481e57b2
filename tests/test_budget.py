"""The context budget: estimates, the count_tokens endpoint, and shortening a file to fit."""

from __future__ import annotations

import anthropic
import pytest

from buddy_tui.context.attachments import Attachment, estimate_tokens
from buddy_tui.context.budget import Budget, context_window, estimate_request, measure, shorten_largest
from tests.fake_api import FakeAnthropic

REQUEST = {"model": "m", "max_tokens": 1000, "system": [{"type": "text", "text": "s" * 700}],
           "messages": [{"role": "user", "content": [{"type": "text", "text": "q" * 7000}]}]}


def test_estimates_and_window() -> None:
    assert estimate_tokens("x" * 35) == 10
    assert estimate_request(REQUEST) == 200 + 2000  # the system prompt and the message text, nothing else
    assert context_window({}) == 200_000
    assert context_window({"BUDDY_TUI_CONTEXT_BUDGET": "5000"}) == 5000
    assert context_window({"BUDDY_TUI_CONTEXT_BUDGET": "lots"}) == 200_000
    budget = Budget(used=4_500, reserve=1_000, limit=5_000, counted_by="api")
    assert budget.over_by == 500
    assert budget.describe() == "5,500 of 5,000 tokens (1,000 kept for the reply), counted by the API"


async def test_far_below_the_limit_no_request_is_made(fake_api: FakeAnthropic) -> None:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=fake_api.base_url, max_retries=0)
    budget = await measure(client, REQUEST, limit=200_000)
    assert budget.counted_by == "estimate" and fake_api.requests == []


async def test_near_the_limit_the_api_counts(fake_api: FakeAnthropic) -> None:
    client = anthropic.AsyncAnthropic(api_key="k", base_url=fake_api.base_url, max_retries=0)
    budget = await measure(client, REQUEST, limit=4_000)
    assert budget.counted_by == "api"
    assert [r.path for r in fake_api.requests] == ["/v1/messages/count_tokens"]
    sent = fake_api.requests[0].body
    assert sent is not None and sent["messages"] == REQUEST["messages"] and "max_tokens" not in sent
    assert budget.used > 0 and budget.reserve == 1000


async def test_an_unreachable_counter_falls_back_to_the_estimate() -> None:
    client = anthropic.AsyncAnthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0)
    budget = await measure(client, REQUEST, limit=4_000)
    assert budget.counted_by == "estimate" and budget.used == estimate_request(REQUEST)


def test_shorten_largest_keeps_the_head_and_says_so() -> None:
    small = Attachment("a.py", "x = 1\n", 6, False)
    large_text = "".join(f"line {i}\n" for i in range(10_000))
    large = Attachment("dump.sql", large_text, len(large_text), False)
    shortened = shorten_largest([small, large], over_by=10_000)
    assert shortened[0] is small
    head = shortened[1]
    assert head.truncated and large_text.startswith(head.text) and head.text.endswith("\n") is False
    assert head.tokens <= large.tokens - 10_000
    with pytest.raises(ValueError, match="would have to go entirely"):
        shorten_largest([small], over_by=100)
    with pytest.raises(ValueError, match="nothing attached"):
        shorten_largest([], over_by=1)
