"""The prompt as an editor: questions over several lines (Enter sends, Ctrl+J and Shift+Enter break
the line, a paste keeps its lines), a box that grows with the text, and up and down walking the
questions asked before (this window's, then the project's earlier ones) back to the draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import events
from textual.events import Paste

from buddy_tui.settings.paths import history_path
from buddy_tui.store.history import Store
from buddy_tui.store.records import TurnRecord
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.widgets.transcript import UserMessage
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import connected, make_app, settled, submit, wait_for


def question_sent(body: dict[str, Any] | None) -> str:
    """The text of the last content block of the last user message in a request."""
    assert body is not None
    content = body["messages"][-1]["content"]
    return str(content if isinstance(content, str) else content[-1]["text"])


async def ask(pilot: Any, app: BuddyApp, online: FakeAnthropic, text: str) -> None:
    """Send ``text`` and wait for its answer."""
    online.queue(Reply(["ok"]))
    count = len(online.message_requests())
    await submit(pilot, app, text)
    await wait_for(pilot, lambda: len(online.message_requests()) == count + 1 and settled(app), what="the answer")


async def test_enter_sends_a_question_of_several_lines_as_one_message(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["Both, in that order."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press(*"first:", "ctrl+j", *"index", "shift+enter", *"then cache")
        assert prompt.value == "first:\nindex\nthen cache"
        assert not app.query(UserMessage)  # the new lines did not send anything
        await pilot.press("enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app), what="the answer")
        assert len(online.message_requests()) == 1
        assert question_sent(online.message_requests()[0].body) == "first:\nindex\nthen cache"
        assert [m.text for m in app.query(UserMessage)] == ["first:\nindex\nthen cache"]
        assert prompt.value == ""


async def test_ctrl_j_breaks_the_line_at_the_cursor_and_replaces_a_selection(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press(*"ab", "left", "ctrl+j")
        assert prompt.value == "a\nb"
        assert prompt.cursor_location == (1, 0)
        await pilot.press("shift+right", "ctrl+j")  # "b" selected: the break replaces it
        assert prompt.value == "a\n\n"


async def test_the_prompt_grows_with_its_lines_then_scrolls(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.pause()
        one_line = prompt.outer_size.height
        await pilot.press("a", "ctrl+j", "b", "ctrl+j", "c")
        await pilot.pause()
        assert prompt.outer_size.height == one_line + 2
        prompt.value = "\n".join(f"line {n}" for n in range(20))
        await pilot.pause()
        assert prompt.outer_size.height == one_line + 7  # eight lines show, then it scrolls
        assert prompt.max_scroll_y > 0
        prompt.value = ""
        await pilot.pause()
        assert prompt.outer_size.height == one_line


async def test_a_paste_of_several_lines_keeps_them(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["Looks like a timeout."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press(*"why? ")
        app.post_message(Paste("Traceback:\n  File \"app.py\"\nTimeoutError"))
        await wait_for(pilot, lambda: "\n" in prompt.value, what="the paste")
        assert prompt.value == "why? Traceback:\n  File \"app.py\"\nTimeoutError"
        await pilot.press("enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app), what="the answer")
        assert question_sent(online.message_requests()[0].body) == "why? Traceback:\n  File \"app.py\"\nTimeoutError"


async def test_up_and_down_walk_the_questions_and_bring_the_draft_back(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await ask(pilot, app, online, "how are orders paginated?")
        await ask(pilot, app, online, "and the\nindexes?")
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press(*"half", "ctrl+j", *"written")
        await pilot.press("up")  # on the draft's second line: an ordinary move up
        assert prompt.value == "half\nwritten" and prompt.cursor_location[0] == 0
        await pilot.press("up")
        assert prompt.value == "and the\nindexes?"
        assert prompt.cursor_location == (1, 8)  # at the end, so typing carries on there
        await pilot.press("up")  # a recalled question of two lines is walked like any text
        assert prompt.value == "and the\nindexes?" and prompt.cursor_location[0] == 0
        await pilot.press("up")
        assert prompt.value == "how are orders paginated?"
        await pilot.press("up")  # nothing older: it stays
        assert prompt.value == "how are orders paginated?"
        await pilot.press("down")
        assert prompt.value == "and the\nindexes?"
        await pilot.press("down")
        assert prompt.value == "half\nwritten"  # the draft, not lost
        await pilot.press("down")
        assert prompt.value == "half\nwritten"
        # A recalled question that is changed becomes the draft: Down does not throw the change away.
        await pilot.press("ctrl+j", *["up"] * 5, *" now")  # up the three draft lines, then two questions
        assert prompt.value == "how are orders paginated? now"
        await pilot.press("down")
        assert prompt.value == "how are orders paginated? now"
        online.queue(Reply(["ok"]), Reply(["ok"]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app), what="the answer")
        await pilot.press("up")
        assert prompt.value == "how are orders paginated? now"
        await pilot.press("enter")  # a question sent again is remembered once
        await wait_for(pilot, lambda: len(online.message_requests()) == 4 and settled(app), what="the answer")
        assert question_sent(online.message_requests()[3].body) == "how are orders paginated? now"
        assert app.chat.prompt.history.entries == ["how are orders paginated?", "and the\nindexes?",
                                                   "how are orders paginated? now"]


async def test_up_and_down_move_the_command_menu_while_it_is_open(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await ask(pilot, app, online, "what does load_orders do?")
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press("/")
        menu = app.chat.prompt.menu
        await wait_for(pilot, lambda: menu.display, what="the menu")
        assert menu.highlighted == 0 and menu.option_count > 2
        await pilot.press("down", "down")
        assert menu.highlighted == 2
        await pilot.press("up")
        assert menu.highlighted == 1
        assert prompt.value == "/"  # the history was not touched
        await pilot.press("escape", "backspace", "up")
        assert prompt.value == "what does load_orders do?"  # menu closed: Up recalls again


async def test_earlier_questions_of_the_project_are_recalled_but_not_other_projects(project: Path) -> None:
    app = make_app(project)
    store = Store(history_path())
    for where, question in [(app.session.project_key, "why is checkout slow?"),
                            ("/somewhere/else", "a question of another project"),
                            (app.session.project_key, "which table holds refunds?")]:
        conversation = store.create_conversation(where, question, "backend", "claude")
        store.begin_turn(conversation, TurnRecord(question, "backend", "Backend", "claude"))
    store.close()
    async with app.run_test(size=(160, 48)) as pilot:
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press("up")
        assert prompt.value == "which table holds refunds?"
        await pilot.press("up")
        assert prompt.value == "why is checkout slow?"
        await pilot.press("up")
        assert prompt.value == "why is checkout slow?"


async def test_an_at_mention_on_a_later_line_completes_without_joining_lines(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.finder is not None, what="the index")
        prompt = app.chat.prompt.input
        prompt.focus()
        await pilot.press(*"compare", "ctrl+j", *"@req")
        menu = app.chat.prompt.menu
        await wait_for(pilot, lambda: menu.display and menu.mode == "mention", what="the mention menu")
        await pilot.press("tab")
        assert prompt.value == "compare\n@requirements.txt "
        prompt.value = "see @re\nand the models"
        prompt.cursor_position = len("see @re")
        await pilot.press("q")
        await wait_for(pilot, lambda: menu.display and menu.mode == "mention", what="the mention menu")
        await pilot.press("enter")  # Enter picks the file while the menu is open; it does not send
        assert prompt.value == "see @requirements.txt \nand the models"
        assert prompt.cursor_position == len("see @requirements.txt ")
        assert not app.query(UserMessage)


async def test_keys_typed_in_a_burst_keep_their_order_around_newline_and_enter(project: Path) -> None:
    """A terminal delivers fast typing (or tmux send-keys) as a burst of key events: the line
    break and the send must happen where they were typed, not after the keys behind them."""
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        burst = [*"abc", "ctrl+j", *"def"]
        for key in burst:
            app.post_message(events.Key(key, key if len(key) == 1 else None))
        prompt = app.chat.prompt.input
        await wait_for(pilot, lambda: sum(c.isalpha() for c in prompt.value) == 6, what="every letter typed")
        assert prompt.value == "abc\ndef"
