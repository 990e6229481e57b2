"""Claude reads and changes the project through tools, with the user's approval (end to end: the
fake API scripts tool_use turns, the real SDK streams them, the app runs the tools)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from textual.widgets import Static

from buddy_tui.ui.screens.approval import ApprovalScreen
from buddy_tui.ui.screens.choice import ChoiceScreen
from buddy_tui.ui.widgets.tool_line import ToolLine
from buddy_tui.ui.widgets.transcript import AssistantMessage
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import chat_worker_done, choose, connected, dialog_takes_keys, make_app, settled, text_of, wait_for

OLD = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s" % user_id)'
NEW = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s", (user_id,))'


def review_script(edit_path: str = "app/models.py") -> list[Reply]:
    return [
        Reply(["Let me look at the code. "], tools=[ToolUse("toolu_glob", "Glob", {"pattern": "**/*.py"}),
                                                     ToolUse("toolu_read", "Read", {"path": "app/models.py"})]),
        Reply(["The query is built with %. "], tools=[ToolUse(
            "toolu_edit", "Edit", {"path": edit_path, "old_string": OLD, "new_string": NEW})]),
        Reply(["Fixed: the query is parameterised now."]),
    ]


def tool_results(request_body: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert request_body is not None
    return [b for b in request_body["messages"][-1]["content"] if b.get("type") == "tool_result"]


async def test_review_reads_through_tools_and_the_approved_edit_lands_on_disk(
    project: Path, online: FakeAnthropic
) -> None:
    online.queue(*review_script())
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "/buddy:review app"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#approval-diff"),
                       timeout=10, what="the approval")
        assert isinstance(app.screen, ApprovalScreen)
        await dialog_takes_keys(pilot, app.screen)
        first = online.message_requests()[0].body
        assert first is not None  # /buddy:review hands work to the experts: the backend is offered Task too
        assert [t["name"] for t in first["tools"]] == ["Read", "Grep", "Glob", "Edit", "Write", "Task"]
        results = tool_results(online.message_requests()[1].body)
        assert "app/models.py" in results[0]["content"]  # Glob
        assert "   13\t" in results[1]["content"] and "load_orders" in results[1]["content"]  # Read, numbered
        title = text_of(app.screen.query_one("#dialog-title", Static))
        assert title.startswith("Claude wants to change app/models.py (Edit)")
        assert OLD in (project / "app" / "models.py").read_text()  # nothing written before approval
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app), timeout=10)
        assert NEW in (project / "app" / "models.py").read_text()
        edit_result = tool_results(online.message_requests()[2].body)[0]
        assert edit_result["is_error"] is False and "Edited app/models.py" in edit_result["content"]
        lines = list(app.query(ToolLine))
        assert [line.call.name for line in lines] == ["Glob", "Read", "Edit"]
        reply = app.query(AssistantMessage).last()
        assert reply.text.endswith("Fixed: the query is parameterised now.")
        assert len(reply.query("ReplyView")) == 3  # text, tools, text, tools, text
        # The whole exchange is kept, tool calls included, so the next turn has the context.
        roles = [m["role"] for m in app.session.conversation.messages]
        assert roles == ["user", "assistant", "user", "assistant", "user", "assistant"]
        # Undo from the chat.
        await pilot.click(lines[2].query_one(".undo"))
        await wait_for(pilot, lambda: OLD in (project / "app" / "models.py").read_text(), what="the undo")
        # The next question tells the model its change was undone.
        online.queue(Reply(["Understood."]))
        app.chat.prompt.input.value = "thanks"
        app.chat.prompt.input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 4 and settled(app), timeout=10)
        question = online.message_requests()[3].body
        assert question is not None
        assert question["messages"][-1]["content"][0]["text"] == (
            "<note>The user undid your Edit of app/models.py; it is back as it was before that change.</note>")
        assert app.session.notes == []


async def test_denying_an_edit_tells_the_model_why_and_writes_nothing(project: Path, online: FakeAnthropic) -> None:
    online.queue(*review_script())
    before = (project / "app" / "models.py").read_text()
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "fix the query in app/models.py"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#approval-reason"),
                       timeout=10)
        assert isinstance(app.screen, ApprovalScreen)
        await dialog_takes_keys(pilot, app.screen)
        app.screen.query_one("#approval-reason").focus()
        await pilot.press(*"use the ORM instead", "enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app), timeout=10)
        assert (project / "app" / "models.py").read_text() == before
        denied = tool_results(online.message_requests()[2].body)[0]
        assert denied["is_error"] is True
        assert denied["content"] == "The user denied this change to app/models.py. Their reason: use the ORM instead"


async def test_allow_for_the_conversation_and_escape_during_an_approval(project: Path, online: FakeAnthropic) -> None:
    (project / "notes.md").write_text("a\n")
    online.queue(
        Reply([], tools=[ToolUse("w1", "Write", {"path": "docs/one.md", "content": "one\n"})]),
        Reply([], tools=[ToolUse("w2", "Write", {"path": "docs/two.md", "content": "two\n"})]),
        Reply(["done"]),
        Reply(["Editing notes. "], tools=[ToolUse("e1", "Edit", {"path": "notes.md", "old_string": "a",
                                                                  "new_string": "b"})], delay=0.01),
    )
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "write the docs"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#always"),
                       timeout=10)
        assert isinstance(app.screen, ApprovalScreen)
        await dialog_takes_keys(pilot, app.screen)
        assert "create docs/one.md" in text_of(app.screen.query_one("#dialog-title", Static))
        await choose(pilot, "always")  # asks once more, with Back focused
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the second step")
        await choose(pilot, "always")  # Write is allowed for the rest of the conversation: no second question
        await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app), timeout=10)
        assert (project / "docs" / "one.md").read_text() == "one\n"
        assert (project / "docs" / "two.md").read_text() == "two\n"
        # Esc while an Edit waits for approval: the loop stops, nothing runs, nothing is written.
        app.chat.prompt.input.value = "now the notes"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), timeout=10)
        assert isinstance(app.screen, ApprovalScreen)
        await dialog_takes_keys(pilot, app.screen)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalScreen) and not app.chat.busy)
        # Nothing can run or be sent later: the worker that would do it has ended.
        await wait_for(pilot, lambda: chat_worker_done(app), what="the stopped turn's worker to end")
        assert (project / "notes.md").read_text() == "a\n"
        assert len(online.message_requests()) == 4


async def test_tools_the_persona_does_not_allow_are_refused(tmp_path: Path, online: FakeAnthropic) -> None:
    from tests.helpers import make_project

    root = make_project(tmp_path / "p")
    (root / ".buddy" / "personas").mkdir(parents=True)
    (root / ".buddy" / "personas" / "reader.md").write_text(
        "---\nname: reader\ndescription: reads only\nallowed-tools: Read, Grep\n---\nYou only read.\n")
    online.queue(Reply([], tools=[ToolUse("w", "Write", {"path": "x.py", "content": "boom"})]), Reply(["ok"]))
    app = make_app(root, persona="reader")
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "write x.py"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app), timeout=10)
        first = online.message_requests()[0].body
        assert first is not None and [t["name"] for t in first["tools"]] == ["Read", "Grep"]
        refusal = tool_results(online.message_requests()[1].body)[0]
        assert refusal["is_error"] and "not allowed for the Reader persona" in refusal["content"]
        assert not (root / "x.py").exists()


async def test_reading_a_secrets_file_needs_consent(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply([], tools=[ToolUse("r", "Read", {"path": ".env"})]), Reply(["I will not."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "what is the database url?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"),
                       timeout=10)
        assert isinstance(app.screen, ChoiceScreen)
        await dialog_takes_keys(pilot, app.screen)
        assert ".env" in text_of(app.screen.query_one("#dialog-title", Static))
        await choose(pilot, "no")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app), timeout=10)
        refusal = tool_results(online.message_requests()[1].body)[0]
        assert refusal["is_error"] and "did not allow reading .env" in refusal["content"]
        assert "DATABASE_URL" not in json.dumps(online.message_requests()[1].body)


async def test_a_stopped_tool_turn_stays_in_the_conversation(project: Path, online: FakeAnthropic) -> None:
    online.queue(
        Reply(["Reading. "], tools=[ToolUse("r1", "Read", {"path": "app/models.py"})]),
        Reply(["tick "] * 300, delay=0.02),
        Reply(["next answer"]),
    )
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        app.chat.prompt.input.value = "read the models"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and "tick" in app.query(
            AssistantMessage).last().text, timeout=10)
        await pilot.press("escape")
        await wait_for(pilot, lambda: settled(app) and chat_worker_done(app), what="the stop")
        roles = [m["role"] for m in app.session.conversation.messages]
        assert roles == ["user", "assistant", "user", "assistant"]  # question, tool_use, tool_result, note
        assert app.session.conversation.messages[-1]["content"][0]["text"] == "(Stopped by the user.)"
        app.chat.prompt.input.value = "and now?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app), timeout=10)
        sent = online.message_requests()[2].body
        assert sent is not None and [m["role"] for m in sent["messages"]] == [
            "user", "assistant", "user", "assistant", "user"]
