"""Conversations that survive, through the app: stored before sending, checkpointed while
streaming, resumed, searched, renamed, deleted, exported, copied, counted; and failures that
leave a clear, recoverable state."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Input, Static

from buddy_tui.settings.paths import data_dir, history_path
from buddy_tui.store.history import Store
from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.screens.history import HistoryScreen, TitleScreen
from buddy_tui.ui.widgets.markdown_note import MarkdownNote
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import (
    AssistantMessage,
    CopyLink,
    Note,
    UserMessage,
)
from tests.fake_api import FakeAnthropic, HttpError, Reply, StreamError, split_text
from tests.helpers import choose, click, connected, dead_owner, make_app, settled, submit, text_of, turns_of, wait_for

ANSWER = "Use keyset pagination.\n\n```sql\nSELECT * FROM orders WHERE id > $1 LIMIT 50;\n```\n\nAnd an index.\n"


def status(message: AssistantMessage) -> str:
    return text_of(message.query_one(".status", Static))


def stored() -> Store:
    return Store(history_path())


async def test_the_question_is_stored_before_the_request_leaves_and_the_reply_is_checkpointed(
        project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(split_text("0123456789" * 12, 4), delay=0.04))
    seen_by_the_server: list[list[str]] = []

    def on_arrival(body: dict[str, object]) -> None:  # the request is here: what is stored already?
        reader = stored()
        seen_by_the_server.append([t.typed for c in reader.conversations(str(project))
                                   for t in turns_of(reader, c.id)])
        reader.close()

    online.on_message = on_arrival
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "how should orders be paginated?")
        await wait_for(pilot, lambda: online.message_requests(), what="the request")
        assert seen_by_the_server == [["how should orders be paginated?"]]
        db = stored()
        (summary,) = db.conversations(str(project))
        assert summary.title == "how should orders be paginated?"

        def checkpointed() -> int:
            again = db.load(summary.id)
            return len(again.turns[0].reply) if again else 0

        await wait_for(pilot, lambda: 0 < checkpointed() < 120 and app.chat.busy, what="a checkpoint mid-stream")
        await wait_for(pilot, lambda: settled(app), what="the answer")
        final = db.load(summary.id)
        assert final is not None and final.turns[0].state == "complete" and len(final.turns[0].reply) == 120
        assert final.turns[0].usage.input_tokens == 25
        assert db.integrity() == "ok"


async def test_continue_brings_the_conversation_back_and_it_goes_on_with_its_context(
        project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply.of(ANSWER), Reply.of("Add a composite index."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "paginate orders?")
        await wait_for(pilot, lambda: settled(app) and app.query(AssistantMessage).last().text)
    again = make_app(project, resume_latest=True)
    async with again.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: again.query(UserMessage), what="the resumed question")
        assert [m.text for m in again.query(UserMessage)] == ["paginate orders?"]
        assert again.query_one(AssistantMessage).text == ANSWER
        assert "in 25" in status(again.query_one(AssistantMessage))
        assert "last in 25 out" in text_of(again.chat.query_one("#usage", Static))
        await connected(pilot, again)
        await submit(pilot, again, "and the index?")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(again))
        body = online.message_requests()[1].body
        assert body is not None
        texts = [m["content"][-1]["text"] for m in body["messages"]]
        assert texts == ["paginate orders?", ANSWER, "and the index?"]
    db = stored()
    (summary,) = db.conversations(str(project))
    assert summary.turns == 2


async def test_a_reply_cut_by_a_crash_comes_back_marked_and_ctrl_r_sends_the_same_turn(
        project: Path, online: FakeAnthropic) -> None:
    db = stored()
    conversation = db.create_conversation(str(project), "why is load_orders slow?", "backend", "claude-test")
    blocks = [{"type": "text", "text": "<documents>app/models.py ...</documents>"},
              {"type": "text", "text": "why is load_orders slow?"}]
    record = TurnRecord("why is load_orders slow?", "backend", "Backend Buddy", "claude-test",
                        files=["app/models.py (531 B ~130 tok)"], user=blocks)
    db.begin_turn(conversation, record)
    record.reply = "It runs one query per ord"
    db.save_turn(record)
    db._db.execute("UPDATE turns SET owner = ?", (dead_owner(),))
    online.queue(Reply.of("It runs one query per order: an N+1."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(AssistantMessage), what="the recovered conversation")
        reply = app.query_one(AssistantMessage)
        assert reply.text == "It runs one query per ord"
        assert "Interrupted: buddy-tui stopped while this reply was streaming" in status(reply)
        assert any("stopped while a reply was streaming" in text_of(n) for n in app.query(Note))
        assert app.query_one(UserMessage).files == ("app/models.py (531 B ~130 tok)",)
        await connected(pilot, app)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: online.message_requests() and settled(app), what="the retry")
        body = online.message_requests()[0].body
        assert body is not None and [b["text"] for b in body["messages"][-1]["content"]] == [b["text"] for b in blocks]
        assert body["messages"][0]["role"] == "user" and len(body["messages"]) == 1  # the cut turn is not context
        assert app.query(AssistantMessage).last().text == "It runs one query per order: an N+1."
    loaded = db.load(conversation)
    assert loaded is not None and [t.state for t in loaded.turns] == ["interrupted", "complete"]


async def test_history_screen_searches_renames_deletes_and_opens(project: Path, online: FakeAnthropic) -> None:
    db = stored()
    old = db.create_conversation(str(project), "Retry budgets for the payment client", "backend", "m")
    db.begin_turn(old, TurnRecord("how many retries?", "backend", "Backend Buddy", "m"))
    doomed = db.create_conversation(str(project), "Throwaway", "backend", "m")
    db.create_conversation("/some/other/project", "Elsewhere", "backend", "m")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await submit(pilot, app, "/resume")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        screen = app.screen
        assert isinstance(screen, HistoryScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 2  # this project only
        await pilot.press("f4")
        assert table.row_count == 3
        await pilot.press("f4")
        await pilot.press(*"throw")
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("f8")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen))
        await choose(pilot, "yes")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen) and table.row_count == 0)
        assert db.load(doomed) is None
        screen.query_one(Input).value = "RETRIES"  # found by the question's text, whatever the case
        await wait_for(pilot, lambda: table.row_count == 1)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, TitleScreen))
        app.screen.query_one(Input).value = "Payment retries"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        assert (latest := db.latest(str(project))) is not None and latest.title == "Payment retries"
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryScreen) and app.query(UserMessage))
        assert app.query_one(UserMessage).text == "how many retries?"
        assert app.chat.session.conversation_id == old
        assert "Payment retries" in app.query(MarkdownNote).last().source


async def test_export_copy_and_cost(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply.of(ANSWER, input_tokens=900, output_tokens=120, cache_read_input_tokens=800,
                          cache_creation_input_tokens=50))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "paginate orders?")
        await wait_for(pilot, lambda: settled(app) and app.query(AssistantMessage).last().text)
        await submit(pilot, app, "/export notes/pagination.md")
        exported = project / "notes" / "pagination.md"
        await wait_for(pilot, lambda: exported.exists(), what="the export")
        text = exported.read_text()
        assert "paginate orders?" in text and "Use keyset pagination." in text
        await submit(pilot, app, "/export notes/pagination.md")
        await wait_for(pilot, lambda: app.screen.query("#dialog"), what="the overwrite question")
        await choose(pilot, "no")
        await submit(pilot, app, "/copy")
        await wait_for(pilot, lambda: app.clipboard == ANSWER, what="the reply in the clipboard")
        await submit(pilot, app, "/copy 1")
        await wait_for(pilot, lambda: app.clipboard == "SELECT * FROM orders WHERE id > $1 LIMIT 50;")
        assert (data_dir() / "clipboard.txt").read_text() == app.clipboard  # the fallback without OSC 52
        app.copy_to_clipboard("")
        view = app.query_one(AssistantMessage).query_one(ReplyView)
        view.scroll_visible(animate=False)
        await click(pilot, view, offset=(4, view.code_rows()[0]))
        await wait_for(pilot, lambda: app.clipboard == "SELECT * FROM orders WHERE id > $1 LIMIT 50;")
        app.query_one(UserMessage).scroll_visible(animate=False)
        await click(pilot, app.query_one(UserMessage).query_one(CopyLink))
        await wait_for(pilot, lambda: app.clipboard == "paginate orders?", what="the question copied")
        await click(pilot, app.query_one(AssistantMessage).query_one(CopyLink))
        await wait_for(pilot, lambda: app.clipboard == ANSWER, what="the reply copied")
        await submit(pilot, app, "/cost")
        await wait_for(pilot, lambda: "Tokens" in app.query(MarkdownNote).last().source)
        table = app.query(MarkdownNote).last().source
        assert "| Last turn | 900 | 120 | 800 | 50 |" in table
        assert "last in 900 out 120 cache 800/50" in text_of(
            app.chat.query_one("#usage", Static))


async def test_sdk_retries_are_shown_while_they_wait_then_the_answer_arrives(
        project: Path, online: FakeAnthropic) -> None:
    online.queue(HttpError(529, "overloaded_error", "Overloaded", retry_after_ms=1500), Reply.of("Back again."))
    app = make_app(project, max_retries=2)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "anything")
        await wait_for(pilot, lambda: app.query(AssistantMessage) and "retrying" in status(
            app.query_one(AssistantMessage)), what="the retry notice")
        shown = status(app.query_one(AssistantMessage))
        assert "Overloaded (529), retrying in" in shown and "attempt 2 of 3" in shown
        await wait_for(pilot, lambda: settled(app), timeout=8)
        assert app.query_one(AssistantMessage).text == "Back again."
        assert "retrying" not in status(app.query_one(AssistantMessage))


async def test_a_failed_reply_is_stored_marked_and_retried_with_ctrl_r(project: Path, online: FakeAnthropic) -> None:
    online.queue(StreamError(["Partial ", "text"], delay=0.05), Reply.of("Complete answer."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "explain the outbox pattern")
        await wait_for(pilot, lambda: settled(app) and "answer above is incomplete" in status(
            app.query_one(AssistantMessage)))
        assert "Ctrl+R or /retry" in status(app.query_one(AssistantMessage))
        assert app.chat.prompt.input.value == "explain the outbox pattern"  # nothing typed is lost
        (summary,) = stored().conversations(str(project))
        loaded = stored().load(summary.id)
        assert loaded is not None and loaded.turns[0].state == "failed" and loaded.turns[0].reply == "Partial text"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app))
        assert app.query(AssistantMessage).last().text == "Complete answer."
        assert app.chat.prompt.input.value == ""


async def test_history_off_still_chats_and_says_so(project: Path, online: FakeAnthropic) -> None:
    blocker = data_dir()
    blocker.parent.mkdir(parents=True, exist_ok=True)
    if blocker.exists():
        blocker.rmdir()
    blocker.write_text("a file where the data folder should be")
    online.queue(Reply.of("Still here."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any("History is off" in text_of(n) for n in app.query(Note)))
        assert app.chat.session.store is None
        await connected(pilot, app)
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: settled(app) and app.query_one(AssistantMessage).text == "Still here.")
        await submit(pilot, app, "/export")
        await wait_for(pilot, lambda: any("Exported 1 turn to" in text_of(n) for n in app.query(Note)))


async def test_a_long_conversation_opens_with_only_the_newest_turns_built(project: Path, online: FakeAnthropic) -> None:
    from buddy_tui.ui.widgets.turn_stubs import BUILT_TURNS, TurnStub

    db = stored()
    conversation = db.create_conversation(str(project), "Long one", "backend", "m")
    for n in range(1, 41):
        record = TurnRecord(f"question {n}", "backend", "Backend Buddy", "m")
        db.begin_turn(conversation, record)
        record.reply, record.state = f"Answer number {n}.\n\n" + "More detail here. " * 40, "complete"
        db.save_turn(record)
    app = make_app(project, resume_latest=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: app.query(TurnStub), what="the older turns as stubs")
        assert len(app.query(AssistantMessage)) == BUILT_TURNS
        assert app.query(AssistantMessage).last().text.startswith("Answer number 40.")
        await pilot.press("ctrl+home")
        await wait_for(pilot, lambda: app.query(UserMessage).first().text == "question 1", what="the first turn built")
        await wait_for(pilot, lambda: app.query(AssistantMessage).first().text.startswith("Answer number 1."),
                       what="its reply shown")
        assert app.chat.session.turns[0].typed == "question 1" and len(app.chat.session.turns) == 40


async def test_chat_keys_do_nothing_while_a_dialog_is_open(project: Path, online: FakeAnthropic) -> None:
    from buddy_tui.ui.screens.choice import ChoiceScreen

    stored().create_conversation(str(project), "Something to delete", "backend", "m")
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        await submit(pilot, app, "/resume")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.focused is not None,
                       what="the dialog, with the focus")
        await pilot.press("ctrl+home", "ctrl+end", "pageup", "pagedown")  # chat keys: the chat is not on this screen
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen) and app.return_code is None
        await choose(pilot, "no")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryScreen))
