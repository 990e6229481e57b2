"""Make the SVG screenshots the README shows, from real runs of buddy-tui against the fake API.

    python screenshots/make_screenshots.py

Each picture is the real app (real SDK, real HTTP on 127.0.0.1) driven the way a user would,
on a generated sample project, at 160x48.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from textual.widgets import DirectoryTree, Input, Static  # noqa: E402

from buddy_tui.ui.app import BuddyApp  # noqa: E402
from buddy_tui.ui.screens.approval import ApprovalScreen  # noqa: E402
from buddy_tui.ui.screens.history import HistoryScreen  # noqa: E402
from buddy_tui.ui.widgets.agent_panel import AgentPanel  # noqa: E402
from buddy_tui.ui.widgets.transcript import AssistantMessage  # noqa: E402
from tests.fake_api import FakeAnthropic, HttpError, Reply, ToolUse, review_demo, split_text  # noqa: E402
from tests.helpers import connected, dialog_takes_keys, make_app, make_project, settled, wait_for  # noqa: E402

SIZE = (160, 48)
ANSWER = """## What could go wrong under load

The biggest risk is **`load_orders`** (app/models.py:12): it issues one query per order.

1. **N+1 queries**: 1 + N round trips per request; at 200 orders that is 201 queries and far
   past a 200 ms budget.
2. **SQL built with `%`** (app/models.py:13): an injection hole, and the database cannot reuse
   the plan.
3. **No pagination**: a heavy user returns every order in one response.

### Fix

```python
def load_orders(db, user_id: int, limit: int = 50, after: int = 0):
    return db.query(
        "SELECT o.*, l.* FROM orders o JOIN lines l ON l.order_id = o.id "
        "WHERE o.user_id = %s AND o.id > %s ORDER BY o.id LIMIT %s",
        (user_id, after, limit),
    )
```

Add an index on `lines(order_id)` and measure P95 before and after.
"""

REVIEW = """## Review of app/ (ranked by severity)

1. **Critical · SQL injection** (app/models.py:13, security): the user id is formatted into the query.
2. **High · N+1 queries** (app/models.py:15, performance): one query per order; join the lines once.
3. **Medium · No pagination** (app/models.py:12): every order in one response; add `limit`/`after`.
"""


async def open_models(app: BuddyApp, pilot: object) -> None:
    tree = app.query_one(DirectoryTree)
    await wait_for(pilot, lambda: any(str(n.label) == "app" for n in tree.root.children))  # type: ignore[arg-type]
    folder = next(n for n in tree.root.children if str(n.label) == "app")
    folder.expand()
    await wait_for(pilot, lambda: len(folder.children) == 2)  # type: ignore[arg-type]
    tree.select_node(next(n for n in folder.children if str(n.label) == "models.py"))
    await wait_for(pilot, lambda: app.query_one("#preview").border_title == "app/models.py")  # type: ignore[arg-type]


async def main_screen(project: Path, fake: FakeAnthropic) -> None:
    fake.queue(Reply.of(ANSWER, size=10, input_tokens=2_310, cache_read_input_tokens=2_048))
    app = make_app(project)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await open_models(app, pilot)
        app.chat.prompt.input.value = "what could go wrong with these models under load?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.completed_streams == 1 and settled(app))
        app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
        app.chat.prompt.input.cursor_blink = False
        await pilot.pause(0.3)
        app.save_screenshot("main.svg", str(HERE))


def last_reply(app: BuddyApp) -> str:
    found = app.query(AssistantMessage)
    return found.last().text if found else ""


async def streaming(project: Path, fake: FakeAnthropic) -> None:
    """The same answer caught mid-stream: the server holds back the rest inside the code block."""
    chunks = [ANSWER[i:i + 10] for i in range(0, len(ANSWER), 10)]
    held = ANSWER.index("ORDER BY") // 10
    gate = threading.Event()
    fake.on_chunk = lambda index, total: gate.wait(10) if index == held else None
    fake.queue(Reply(chunks, input_tokens=2_310))
    app = make_app(project)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            await open_models(app, pilot)
            app.chat.prompt.input.value = "what could go wrong with these models under load?"
            await pilot.press("enter")
            sent = "".join(chunks[: held + 1])
            await wait_for(pilot, lambda: last_reply(app) == sent)
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            app.chat.prompt.input.cursor_blink = False
            await pilot.pause(0.5)
            app.save_screenshot("streaming.svg", str(HERE))
    finally:
        gate.set()
        fake.on_chunk = None


async def command_menu(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot, app)
        await open_models(app, pilot)
        app.chat.prompt.input.focus()
        await pilot.press("/")
        await pilot.pause(0.2)
        app.chat.prompt.input.cursor_blink = False
        app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
        app.save_screenshot("commands.svg", str(HERE))


async def experts(fake: FakeAnthropic) -> None:
    """A project with its own .claude/ folder: the security expert takes over, shown before sending."""
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "orders-service"
        shutil.copytree(HERE.parent / "tests" / "fixtures" / "claude_project", project)
        app = make_app(project)
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            app.chat.prompt.input.focus()
            await pilot.press(*"is the login handler open to SQL injection or XSS?")
            await wait_for(pilot, lambda: "takes over" in str(app.query_one("#activation").render()))
            app.chat.prompt.input.cursor_blink = False
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            await pilot.pause(0.2)
            app.save_screenshot("experts.svg", str(HERE))


async def approval(fake: FakeAnthropic) -> None:
    """/buddy:review reads the code through the tools, then asks before changing it."""
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "orders-service")
        fake.queue(*review_demo())
        app = make_app(project)
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            app.chat.prompt.input.value = "/buddy:review app"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#deny"))
            dialog = app.screen
            assert isinstance(dialog, ApprovalScreen)
            await dialog_takes_keys(pilot, dialog)  # the dialog drops keys for its first half second
            dialog.query_one("#approval-reason", Input).cursor_blink = False
            app.chat.prompt.input.cursor_blink = False
            await pilot.pause(0.3)
            app.save_screenshot("approval.svg", str(HERE))
            await pilot.press("ctrl+y")  # allow once
            await wait_for(pilot, lambda: settled(app) and not app.chat.busy)
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            app.chat.prompt.input.cursor_blink = False
            await pilot.pause(0.3)
            app.save_screenshot("tools.svg", str(HERE))


def first_message_has(marker: str) -> Callable[[dict[str, Any]], bool]:
    """A request whose first user message holds ``marker``: the agent a Task prompt launched."""
    return lambda body: marker in json.dumps((body.get("messages") or [{}])[0])


async def agents(fake: FakeAnthropic) -> None:
    """/buddy:review hands the security and performance validation to those experts in parallel:
    each runs in its own panel under its Task line; the security panel is open, the other folded."""
    security = "Check app/models.py for injection and leaked secrets; report path:line."
    performance = "Check the query cost of load_orders in app/models.py; report path:line."
    fake.route(first_message_has(security),
               Reply(split_text("Reading the data access code first.", 6), delay=0.02, input_tokens=2_480,
                     tools=[ToolUse("toolu_sec_read", "Read", {"path": "app/models.py"})]),
               Reply.of("**Critical**: `load_orders` builds SQL with `%` (app/models.py:13): a crafted `user_id` "
                        "runs any statement.\n\n```python\ndb.query(\"SELECT * FROM orders WHERE user_id = %s\", "
                        "(user_id,))\n```\n", size=6, delay=0.02, input_tokens=3_120, output_tokens=642))
    fake.route(first_message_has(performance),
               Reply.of("**High**: one query per order (app/models.py:15), 201 round trips for 200 orders. Join "
                        "`lines` once and index `lines(order_id)`.", size=6, delay=0.02, input_tokens=2_870,
                        output_tokens=518))
    tasks = [ToolUse("toolu_security", "Task", {"description": "injection and secrets in app/", "prompt": security,
                                                "subagent_type": "security"}),
             ToolUse("toolu_performance", "Task", {"description": "query cost of load_orders",
                                                   "prompt": performance, "subagent_type": "performance"})]
    fake.route(lambda body: not first_message_has(security)(body) and not first_message_has(performance)(body),
               Reply(split_text("I'll give the validation to the security and performance experts in parallel.", 6),
                     delay=0.02, tools=tasks, input_tokens=4_210),
               Reply.of(REVIEW, size=6, delay=0.02, input_tokens=5_020, output_tokens=388))
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "orders-service")
        app = make_app(project)
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            app.chat.prompt.input.value = "/buddy:review app"
            await pilot.press("enter")
            await wait_for(pilot, lambda: settled(app) and len(app.query(AgentPanel)) == 2
                           and all(panel.folded for panel in app.query(AgentPanel)), timeout=30)
            await app.query(AgentPanel).first().fold(False)
            app.chat.transcript.scroll_end(animate=False)
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            app.chat.prompt.input.cursor_blink = False
            await pilot.pause(0.3)
            app.save_screenshot("agents.svg", str(HERE))


async def history_and_retry(fake: FakeAnthropic) -> None:
    """Three earlier conversations in /resume; then the SDK retrying an overloaded API, shown as it waits."""
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "orders-service")
        questions = ["how should the orders endpoint paginate?", "which indexes does load_orders need?",
                     "design an idempotent POST /payments"]
        app = make_app(project)
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            for number, question in enumerate(questions, 1):
                fake.queue(Reply.of(f"Answer {number}: keep it small and measurable.", input_tokens=900 * number))
                app.chat.prompt.input.value = question
                await pilot.press("enter")
                await wait_for(pilot, lambda n=number: fake.completed_streams >= n and settled(app))  # type: ignore[misc]
                if number < len(questions):
                    await app.chat.clear()
            baseline = fake.completed_streams
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            app.chat.prompt.input.value = "/resume"
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
            await pilot.pause(0.3)
            app.save_screenshot("history.svg", str(HERE))
            await pilot.press("escape")
            fake.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after=4),
                       Reply.of("Use an idempotency key per request, stored with the result."))
        app = make_app(project, max_retries=2)
        async with app.run_test(size=SIZE) as pilot:
            await connected(pilot, app)
            app.chat.prompt.input.value = "how do I make retries of POST /payments safe?"
            await pilot.press("enter")
            await wait_for(pilot, lambda: "retrying" in str(app.query(".status").last().render()))
            app.chat.query_one("#connection", Static).update("claude-sonnet-5-5 @ http://127.0.0.1:8765")
            app.chat.prompt.input.cursor_blink = False
            await pilot.pause(0.2)
            app.save_screenshot("retry.svg", str(HERE))
            await wait_for(pilot, lambda: fake.completed_streams > baseline and settled(app), timeout=10)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, FakeAnthropic() as fake:
        os.environ["ANTHROPIC_BASE_URL"] = fake.base_url
        os.environ["ANTHROPIC_API_KEY"] = "sk-ant-screenshot-placeholder"
        os.environ["BUDDY_TUI_DATA_DIR"] = str(Path(tmp) / "data")  # never the user's own history
        project = make_project(Path(tmp) / "orders-service")
        await main_screen(project, fake)
        await streaming(project, fake)
        await command_menu(project)
        await experts(fake)
        await approval(fake)
        await history_and_retry(fake)
        await agents(fake)
    shots = ("main.svg", "streaming.svg", "commands.svg", "experts.svg", "approval.svg", "tools.svg", "history.svg",
             "retry.svg", "agents.svg")
    for name in shots:
        text = (HERE / name).read_text(encoding="utf-8")
        assert "sk-ant-" not in text, f"{name} must never show a key"
        print(HERE / name)


if __name__ == "__main__":
    asyncio.run(main())
