"""How a turn ends, as the user sees it: a refusal says the model declined and what to do; a
reply cut at the token limit says so and goes on, in the same message, with Enter on an empty
prompt or /continue (and stays cut, to go on again, when Esc stops that); one cut in the middle of
a tool call says the call never ran; and the header and /cost count what a stopped or failed reply
really used."""

from __future__ import annotations

import re
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Markdown, Static

from buddy_tui.conversation.chat import GO_ON
from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store
from buddy_tui.store.records import estimate_tokens
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.help import HelpScreen
from buddy_tui.ui.widgets.markdown_note import MarkdownNote
from buddy_tui.ui.widgets.prompt import CommandMenu
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import AssistantMessage, Note, UserMessage
from tests.fake_api import (
    CUT_DEMO,
    CUT_DEMO_REST,
    Cut,
    FakeAnthropic,
    HttpError,
    Reply,
    StreamError,
    ToolUse,
    continued_of,
)
from tests.helpers import connected, make_app, settled, submit, text_of, turns_of, wait_for

QUESTION = "how do I page the orders?"
WHOLE = CUT_DEMO + CUT_DEMO_REST


def status(message: AssistantMessage) -> str:
    return text_of(message.query_one(".status", Static))


def header(app: BuddyApp) -> str:
    return text_of(app.chat.query_one("#usage", Static))


def stored_turns(project: Path) -> list[tuple[str, str]]:
    store = Store(history_path())
    (summary,) = store.conversations(str(project))
    return [(t.state, t.reply) for t in turns_of(store, summary.id)]


async def cost_table(pilot: Pilot[None], app: BuddyApp) -> str:
    await submit(pilot, app, "/cost")
    await wait_for(pilot, lambda: app.query(MarkdownNote) and "Tokens" in app.query(MarkdownNote).last().source,
                   what="the /cost table")
    return app.query(MarkdownNote).last().source


# ------------------------------------------------------------------ refusals
async def test_a_refusal_without_text_says_the_model_declined_and_what_to_do(project: Path,
                                                                            online: FakeAnthropic) -> None:
    online.queue(Reply.refusal(explanation="This request was declined because it could enable cyber harm."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "write me an exploit for the login")
        await wait_for(pilot, lambda: settled(app) and "declined" in status(app.query_one(AssistantMessage)),
                       what="the refusal")
        reply = app.query_one(AssistantMessage)
        shown = status(reply)
        assert reply.text == "" and shown.startswith("⚠ The model declined to answer this question")
        assert "The API said: This request was declined because it could enable cyber harm." in shown
        assert "Rephrase the question" in shown and "/model" in shown and "/retry" in shown
        assert app.chat.prompt.input.value == "write me an exploit for the login"  # back, to rephrase
        assert app.chat.unsent is not None  # Ctrl+R and /retry send it again
    assert stored_turns(project) == [("refused", "")]


async def test_a_refusal_after_some_text_keeps_it_and_marks_it(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply.refusal("Here is how it starts: first ", category=None))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "write me an exploit")
        await wait_for(pilot, lambda: settled(app) and "declined" in status(app.query_one(AssistantMessage)))
        reply = app.query_one(AssistantMessage)
        assert reply.text == "Here is how it starts: first "
        assert status(reply).startswith("⚠ The model stopped part-way and declined to go on; the part that "
                                        "arrived is kept above.")
    assert stored_turns(project) == [("refused", "Here is how it starts: first ")]


# ------------------------------------------------------------------ continuing a cut reply
async def ask_and_get_cut(pilot: Pilot[None], app: BuddyApp, online: FakeAnthropic) -> AssistantMessage:
    online.queue(Reply.of(CUT_DEMO, stop_reason="max_tokens", output_tokens=64), Reply.of(CUT_DEMO_REST, size=5))
    await connected(pilot, app)
    await submit(pilot, app, QUESTION)
    await wait_for(pilot, lambda: settled(app) and "Cut at the token limit" in status(
        app.query_one(AssistantMessage)), what="the cut reply")
    reply = app.query_one(AssistantMessage)
    assert "Press Enter on an empty prompt or type /continue for the rest." in status(reply)
    assert app.chat.engine.continuable is not None
    return reply


def one_whole_reply(app: BuddyApp, online: FakeAnthropic, project: Path) -> None:
    """The rest joined the same reply: one question, one reply, one stored turn, one code block."""
    assert len(app.query(UserMessage)) == 1 and len(app.query(AssistantMessage)) == 1
    reply = app.query_one(AssistantMessage)
    assert reply.text == WHOLE and status(reply).startswith("in 50 · out ")  # both requests' tokens
    going_on = online.message_requests()[1].body
    assert continued_of(going_on) == CUT_DEMO  # the cut reply went as it stands, then a request for the rest
    assert going_on is not None and going_on["messages"][-1]["content"] == [{"type": "text", "text": GO_ON}]
    code = [b.code for view in reply.query(ReplyView) for b in view.blocks if b.code is not None]
    assert len(code) == 1 and "def load_page" in code[0] and "return rows" in code[0]  # the cut block, whole
    assert stored_turns(project) == [("complete", WHOLE)]
    assert len(app.session.conversation.messages) == 2 and app.chat.engine.continuable is None


async def test_enter_on_an_empty_prompt_continues_a_cut_reply_in_the_same_message(project: Path,
                                                                                  online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        reply = await ask_and_get_cut(pilot, app, online)
        assert app.chat.prompt.input.value == ""
        app.chat.prompt.input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: settled(app) and reply.text == WHOLE, what="the rest of the reply")
        one_whole_reply(app, online, project)
        assert "Cut at the token limit" not in status(reply)


async def test_slash_continue_continues_a_cut_reply_and_is_offered_everywhere(project: Path,
                                                                              online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        reply = await ask_and_get_cut(pilot, app, online)
        app.chat.prompt.input.focus()
        await pilot.press(*"/contin")
        menu = app.query_one(CommandMenu)
        await wait_for(pilot, lambda: menu.display and menu.option_count, what="the command menu")
        assert menu.get_option_at_index(0).id == "continue"
        await pilot.press("enter")  # completes the name...
        await wait_for(pilot, lambda: app.chat.prompt.input.value == "/continue ", what="the name completed")
        await pilot.press("enter")  # ...and runs it
        await wait_for(pilot, lambda: settled(app) and reply.text == WHOLE, what="the rest of the reply")
        one_whole_reply(app, online, project)
        await submit(pilot, app, "/continue")
        await wait_for(pilot, lambda: app.query(Note) and "Nothing to continue" in text_of(app.query(Note).last()))
        assert len(online.message_requests()) == 2
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        assert "| /continue | Ask for the rest of a reply cut at the token limit" in app.screen.query_one(
            Markdown).source


async def test_enter_on_an_empty_prompt_sends_nothing_when_nothing_was_cut(project: Path,
                                                                           online: FakeAnthropic) -> None:
    online.queue(Reply.of("A whole answer."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: settled(app) and app.query(AssistantMessage))
        app.chat.prompt.input.focus()
        await pilot.press("enter")  # nothing to continue: nothing goes out, and nothing is said
        online.queue(Reply.of("A second answer."))
        await submit(pilot, app, "and then?")  # handled after that Enter, so by now it had its effect
        await wait_for(pilot, lambda: settled(app) and len(app.query(AssistantMessage)) == 2)
        assert len(online.message_requests()) == 2
        assert [m.text for m in app.query(UserMessage)] == ["hello", "and then?"]
        assert not [n for n in app.query(Note) if "continue" in text_of(n)]


async def test_a_new_question_after_a_cut_reply_ends_the_offer(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        cut = await ask_and_get_cut(pilot, app, online)
        online.queue(Reply.of("Another answer."))
        await submit(pilot, app, "something else")
        await wait_for(pilot, lambda: settled(app) and len(app.query(AssistantMessage)) == 2)
        assert status(cut).startswith("✂ Cut at the token limit.") and "/continue" not in status(cut)
        assert app.chat.engine.continuable is None


async def test_a_resumed_conversation_ending_in_a_cut_reply_can_go_on(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await ask_and_get_cut(pilot, app, online)
    app = make_app(project, resume_latest=True)  # buddy-tui --continue
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(AssistantMessage), what="the resumed conversation")
        reply = app.query_one(AssistantMessage)
        assert "Press Enter on an empty prompt or type /continue for the rest." in status(reply)
        await connected(pilot, app)
        await submit(pilot, app, "/continue")
        await wait_for(pilot, lambda: settled(app) and reply.text == WHOLE, what="the rest of the reply")
        one_whole_reply(app, online, project)


# ------------------------------------------------------------------ tokens of a reply that did not finish
async def test_after_esc_the_header_and_cost_count_what_was_received(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["Half ", *["an answer "] * 300], delay=0.03, input_tokens=120))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "explain")
        reply = app.query_one(AssistantMessage)
        await wait_for(pilot, lambda: reply.text.count("answer") >= 3, what="some text")
        await pilot.press("escape")
        await wait_for(pilot, lambda: settled(app) and "Interrupted" in status(reply))
        usage = app.session.turns[-1].usage
        assert usage.estimated and usage.input_tokens == 120
        assert usage.output_tokens >= estimate_tokens(len(reply.text)) > 1  # not the placeholder "out 1"
        line = header(app)
        assert f"last in 120 out ~{usage.output_tokens} " in line and f"total in 120 out ~{usage.output_tokens}" in line
        table = await cost_table(pilot, app)
        assert f"| Last turn (stopped: counted as far as it got) | 120 | ~{usage.output_tokens} | 0 | 0 |" in table
        assert "~ marks output estimated from the text that arrived" in table


async def test_after_a_failure_the_header_counts_what_the_server_reported(project: Path,
                                                                          online: FakeAnthropic) -> None:
    online.queue(StreamError(["The pool is too small"], after_delta=True, output_tokens=9, error_type="api_error",
                             message="Internal error"),
                 Cut(["The pool is too small"]), HttpError(500, "api_error", "Internal server error"))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        seen: list[str] = []
        for count, question in enumerate(("one", "two", "three"), 1):
            app.chat.prompt.input.value = ""  # the failed question came back: a new one replaces it
            await submit(pilot, app, question)
            await wait_for(pilot, lambda n=count: settled(app) and len(app.query(AssistantMessage)) == n  # type: ignore[misc]
                           and "⚠" in status(app.query(AssistantMessage).last()), what=f"failure {count}")
            seen.append(header(app))
        assert seen[0].startswith("tokens: last in 25 out 9 · total in 25 out 9")  # message_delta's count
        assert seen[1].startswith("tokens: last in 25 out ~6 · total in 50 out ~15")  # 21 characters, estimated
        assert seen[2].startswith("tokens: last in 0 out 0 · total in 50 out ~15")  # nothing came back
        table = await cost_table(pilot, app)
        assert re.search(r"\| Conversation \(3 turns\) \| 50 \| ~15 \| 0 \| 0 \|", table)


async def test_esc_while_a_cut_reply_goes_on_leaves_it_cut_to_go_on_again(project: Path,
                                                                         online: FakeAnthropic) -> None:
    online.queue(Reply.of("Part one, ", stop_reason="max_tokens", output_tokens=4),
                 Reply(["part two, ", *["more "] * 300], delay=0.03), Reply.of("the end."))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "go")
        await wait_for(pilot, lambda: settled(app) and "Cut at the token limit" in status(
            app.query_one(AssistantMessage)), what="the cut reply")
        reply = app.query_one(AssistantMessage)
        app.chat.prompt.input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: reply.text.count("more") >= 3, what="the rest to start")
        await pilot.press("escape")
        await wait_for(pilot, lambda: settled(app) and "Going on was stopped" in status(reply), what="the stop")
        assert status(reply).startswith("✂ Cut at the token limit. Going on was stopped; the reply so far is kept: "
                                        "press Enter on an empty prompt or type /continue for the rest.")
        assert app.chat.engine.continuable is not None and app.chat.prompt.input.value == ""
        so_far = reply.text
        assert so_far.startswith("Part one, part two, more ")
        await submit(pilot, app, "/retry")  # nothing to send again: it goes on instead
        await wait_for(pilot, lambda: app.query(Note) and "Nothing to retry" in text_of(app.query(Note).last()))
        app.chat.prompt.input.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: settled(app) and reply.text == so_far + "the end.", what="the rest")
        assert len(app.query(AssistantMessage)) == 1 and status(reply).startswith("in 75 · out ")
    assert stored_turns(project) == [("complete", so_far + "the end.")]


NOT_RUN = "🔧 Write app/paging.py not run: the reply reached the token limit in the middle of it"


async def test_a_reply_cut_in_a_tool_call_says_the_call_never_ran(project: Path, online: FakeAnthropic) -> None:
    cut = ToolUse("t_cut", "Write", {"path": "app/paging.py", "content": CUT_DEMO_REST}, cut=40)
    online.queue(Reply.of("I will put it in its own module. ", stop_reason="max_tokens", tools=[cut]),
                 Reply.of("Shall I split it up?"))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, QUESTION)
        await wait_for(pilot, lambda: settled(app) and "Cut at the token limit" in status(
            app.query_one(AssistantMessage)), what="the cut reply")
        reply = app.query_one(AssistantMessage)
        assert [text_of(n) for n in reply.query(".tool-note").results(Static)] == [NOT_RUN]
        assert "Press Enter on an empty prompt or type /continue for the rest." in status(reply)
        assert not (project / "app" / "paging.py").exists()
        await submit(pilot, app, "split it up")  # the API would refuse it if the cut call were still there
        await wait_for(pilot, lambda: settled(app) and len(app.query(AssistantMessage)) == 2)
        assert app.query(AssistantMessage).last().text == "Shall I split it up?"
    app = make_app(project, resume_latest=True)  # the history shows it the same way
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: len(app.query(AssistantMessage)) == 2, what="the resumed conversation")
        first = app.query(AssistantMessage).first()
        assert [text_of(n) for n in first.query(".tool-note").results(Static)] == [NOT_RUN]
