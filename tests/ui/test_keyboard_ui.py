"""The chat from the keyboard (issue 15, part 2): /undo and /undo list, Ctrl+G onto the chat's items
(copy links, tool lines, Undo controls, code blocks, file links) with up and down, Enter acting on
each, a visible focus on each, and Tab in the prompt that never sends the next keys elsewhere.

Changes are allowed for the conversation up front (the runner's ``always_allowed``), so these
tests drive the chat, not the approval dialog, which has tests of its own."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Collapsible, OptionList, Static
from textual.widgets.collapsible import CollapsibleTitle

from buddy_tui.tools.specs import ToolCall, ToolResult
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.undo import UndoScreen
from buddy_tui.ui.widgets.chat_items import chat_items
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.prompt import PromptInput
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.tool_line import ToolLine
from buddy_tui.ui.widgets.transcript import AssistantMessage, CopyLink, Note, ReferenceLink
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import connected, make_app, settled, submit, text_of, wait_for

OLD = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s" % user_id)'
NEW = 'orders = db.query("SELECT * FROM orders WHERE user_id = %s", (user_id,))'
CACHE = "CACHE: dict[int, list[object]] = {}\n"
CODE = "print('cached')"


def two_changes() -> list[Reply]:
    """Claude creates app/cache.py, then edits app/models.py, then answers with a code block and a
    file reference."""
    return [
        Reply(["Adding a cache. "], tools=[ToolUse("w1", "Write", {"path": "app/cache.py", "content": CACHE})]),
        Reply(["Fixing the query. "], tools=[ToolUse(
            "e1", "Edit", {"path": "app/models.py", "old_string": OLD, "new_string": NEW})]),
        Reply([f"Done: see app/models.py:13.\n\n```python\n{CODE}\n```\n"]),
    ]


async def changes_made(pilot: Pilot[None], app: BuddyApp, online: FakeAnthropic, project: Path,
                       script: list[Reply] | None = None) -> None:
    """Ask, with Edit and Write allowed for the conversation, and wait for the whole answer."""
    await connected(pilot, app)
    app.chat.runner.always_allowed |= {"Edit", "Write"}
    online.queue(*(script or two_changes()))
    await submit(pilot, app, "add a cache and fix the query")
    await wait_for(pilot, lambda: len(online.message_requests()) == 3 and settled(app) and app.query(ReferenceLink),
                   what="the answer with its file links")
    if script is None:
        assert (project / "app" / "cache.py").read_text() == CACHE
        assert NEW in (project / "app" / "models.py").read_text()


def line_of(app: BuddyApp, call_id: str) -> ToolLine:
    return next(line for line in app.query(ToolLine) if line.call.id == call_id)


def last_note(app: BuddyApp) -> str:
    return text_of(app.query(Note).last())


async def run_command(pilot: Pilot[None], app: BuddyApp, text: str) -> None:
    """Type an app command in the prompt and press Enter."""
    notes = len(app.query(Note))
    await submit(pilot, app, text)
    await wait_for(pilot, lambda: len(app.query(Note)) > notes or isinstance(app.screen, UndoScreen),
                   what=f"{text} to answer")


async def go_to(pilot: Pilot[None], app: BuddyApp, wanted: Callable[[Widget | None], bool], what: str) -> Widget:
    """From the newest item (Ctrl+G), walk up the chat's items until ``wanted`` holds for the focused one."""
    if app.chat.transcript in getattr(app.focused, "ancestors", []):
        await pilot.press("ctrl+g")  # back to the prompt first: Ctrl+G from there starts at the newest
    await pilot.press("ctrl+g")
    for _ in range(len(chat_items(app.chat.transcript)) + 1):
        await pilot.pause()
        if wanted(app.focused):
            assert app.focused is not None
            return app.focused
        await pilot.press("up")
    raise AssertionError(f"never reached {what}; focus is on {app.focused!r}")


# -- /undo ----------------------------------------------------------------------------------------------------------


async def test_undo_takes_back_the_last_change_then_the_one_before_and_says_so_once(
        project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await run_command(pilot, app, "/undo")
        assert last_note(app).startswith("Nothing to undo: Claude has not changed any file in this conversation.")
        await changes_made(pilot, app, online, project)
        await run_command(pilot, app, "/undo")
        assert OLD in (project / "app" / "models.py").read_text()  # the last change, the Edit, is undone
        assert (project / "app" / "cache.py").exists()  # the Write before it is not
        assert last_note(app) == "↶ Undid Claude's Edit of app/models.py: the file is back as it was before."
        edit = line_of(app, "e1")
        assert not edit.query(Button), "no disabled Undo button is left behind"
        assert text_of(edit.query_one(".undone-mark", Static)) == "↶ undone: app/models.py restored"
        assert line_of(app, "w1").query(Button)  # still undoable
        await run_command(pilot, app, "/undo")
        assert not (project / "app" / "cache.py").exists()
        assert last_note(app) == "↶ Undid Claude's Write: deleted app/cache.py, the file it had created."
        assert text_of(line_of(app, "w1").query_one(".undone-mark", Static)) == "↶ undone: app/cache.py deleted"
        await run_command(pilot, app, "/undo")
        assert last_note(app) == ("Nothing left to undo: every file change Claude made in this conversation has "
                                  "been undone.")
        await run_command(pilot, app, "/undo everything")
        assert last_note(app) == "Usage: /undo (the last change Claude made) or /undo list (choose one)."
        assert not any("Undone: Undid" in text_of(note) for note in app.query(Note))


async def test_undo_waits_while_a_reply_streams(project: Path, online: FakeAnthropic) -> None:
    """Claude may be working on the very file: undoing mid-reply is refused, and works once it ends."""
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project)
        gate = threading.Event()

        def hold(index: int, total: int) -> None:
            if index == 0:
                gate.wait(10)

        online.on_chunk = hold
        online.queue(Reply(["Still ", "looking."]))
        try:
            await submit(pilot, app, "anything else?")
            await wait_for(pilot, lambda: app.chat.busy and app.query(AssistantMessage).last().text == "Still ",
                           what="a reply on its way")
            await run_command(pilot, app, "/undo")
            assert last_note(app).startswith("Claude is still working: wait for the reply to finish")
            assert NEW in (project / "app" / "models.py").read_text()
        finally:
            gate.set()
        await wait_for(pilot, lambda: settled(app), what="the reply to end")
        await run_command(pilot, app, "/undo")
        assert OLD in (project / "app" / "models.py").read_text()

async def test_undo_list_offers_every_change_newest_first_and_undoes_the_chosen_one(
        project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project)
        await run_command(pilot, app, "/undo list")
        screen = app.screen
        assert isinstance(screen, UndoScreen)
        options = screen.query_one("#undo-list", OptionList)
        assert [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)] == [
            "2. Edit app/models.py (+1 -1)", "1. Write app/cache.py (new file, 1 line)"]
        await pilot.press("escape")  # closes without undoing anything
        await wait_for(pilot, lambda: not isinstance(app.screen, UndoScreen))
        assert (project / "app" / "cache.py").exists() and NEW in (project / "app" / "models.py").read_text()
        await run_command(pilot, app, "/undo list")
        await pilot.press("down", "enter")  # the older change: the Write
        await wait_for(pilot, lambda: not (project / "app" / "cache.py").exists(), what="the chosen undo")
        await wait_for(pilot, lambda: last_note(app).startswith("↶ Undid Claude's Write"))
        assert NEW in (project / "app" / "models.py").read_text()  # the Edit stays
        assert [call.id for call, _change in app.chat.engine.undoable()] == ["e1"]


async def test_an_older_change_to_a_file_changed_again_since_is_refused_with_the_way_out(
        project: Path, online: FakeAnthropic) -> None:
    script = [
        Reply([], tools=[ToolUse("e1", "Edit", {"path": "README.md", "old_string": "Orders", "new_string": "Shop"})]),
        Reply([], tools=[ToolUse("e2", "Edit", {"path": "README.md", "old_string": "service", "new_string": "app"})]),
        Reply(["Renamed it in README.md:1."]),
    ]
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project, script)
        assert (project / "README.md").read_text() == "# Shop app\n"
        await run_command(pilot, app, "/undo list")
        await pilot.press("down", "enter")  # the first Edit, which the second one built on
        await wait_for(pilot, lambda: last_note(app).startswith("Could not undo"), what="the refusal")
        assert last_note(app) == ("Could not undo Claude's Edit of README.md: README.md changed since the change was "
                                  "applied; not undoing it. Undo the later change to README.md first (/undo list).")
        assert (project / "README.md").read_text() == "# Shop app\n"
        assert line_of(app, "e1").query(Button)  # still offered: it can go once the later one has
        await run_command(pilot, app, "/undo")
        await run_command(pilot, app, "/undo")
        assert (project / "README.md").read_text() == "# Orders service\n"


# -- the chat's items from the keyboard -----------------------------------------------------------------------------


async def test_undo_from_the_keyboard_restores_the_file_and_keeps_focus_on_the_line(
        project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project)
        app.action_focus_prompt()
        undo = await go_to(pilot, app, lambda w: isinstance(w, Button) and line_of(app, "e1") in w.ancestors,
                           "the Edit's Undo control")
        assert undo.has_class("undo")
        await pilot.press("enter")
        await wait_for(pilot, lambda: OLD in (project / "app" / "models.py").read_text(), what="the undo")
        await wait_for(pilot, lambda: not line_of(app, "e1").query(Button), what="the Undo control to go")
        focused = app.focused
        assert isinstance(focused, CollapsibleTitle) and line_of(app, "e1") in focused.ancestors
        assert last_note(app) == "↶ Undid Claude's Edit of app/models.py: the file is back as it was before."
        await pilot.press("escape")
        assert isinstance(app.focused, PromptInput)


async def test_each_kind_of_item_is_reached_and_enter_acts_on_it(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project)
        reply = app.query(AssistantMessage).last()
        # Ctrl+G lands on the newest item on screen: the file link under the answer.
        await pilot.press("ctrl+g")
        link = app.focused
        assert isinstance(link, ReferenceLink) and (link.path, link.line) == ("app/models.py", 13)
        # Up: the code block of the answer; Enter copies its code.
        await pilot.press("up")
        view = app.focused
        assert isinstance(view, ReplyView) and view.blocks[view.code_focus].code == CODE
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.clipboard == CODE, what="the code copied")
        # A tool line's expander: Enter opens and closes the result.
        title = await go_to(pilot, app, lambda w: isinstance(w, CollapsibleTitle), "a tool line")
        collapsible = next(a for a in title.ancestors if isinstance(a, Collapsible))
        assert collapsible.collapsed
        await pilot.press("enter")
        assert not collapsible.collapsed
        await pilot.press("enter")
        assert collapsible.collapsed
        # The reply's copy link: Enter copies the whole reply.
        await go_to(pilot, app, lambda w: isinstance(w, CopyLink) and reply in w.ancestors, "the reply's copy link")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.clipboard == reply.text, what="the reply copied")
        # Up stops at the first item (your question's copy link); down walks back to the file link.
        items = chat_items(app.chat.transcript)
        await go_to(pilot, app, lambda w: w is items[0][0], "the first item")
        await pilot.press("up")
        assert app.focused is items[0][0]
        for _ in items[1:]:
            await pilot.press("down")
        assert app.focused is link
        await pilot.press("down")
        assert app.focused is link  # the last item: down stays
        # Enter on the file link opens the preview at that line.
        await pilot.press("enter")
        preview = app.query_one(FilePreview)
        await wait_for(pilot, lambda: preview.path == (project / "app" / "models.py").resolve()
                       and preview.cursor == 12 and app.focused is preview, what="the preview at line 13")
        # Back in the items, Tab past the last one goes to the prompt, Ctrl+G there too.
        await pilot.press("ctrl+g")
        assert app.focused is link
        await pilot.press("tab")
        assert isinstance(app.focused, PromptInput)
        await pilot.press("ctrl+g", "shift+tab")
        assert isinstance(app.focused, ReplyView)
        await pilot.press("ctrl+g")
        assert isinstance(app.focused, PromptInput)
        # A letter typed in the items starts a question in the prompt instead of being lost.
        await pilot.press("ctrl+g", "up", *"why?")
        assert isinstance(app.focused, PromptInput) and app.chat.prompt.input.value == "why?"


async def test_the_focused_item_looks_focused(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await changes_made(pilot, app, online, project)
        links = list(app.query(CopyLink))
        before = links[-1].styles.background
        assert before == links[0].styles.background
        await go_to(pilot, app, lambda w: w is links[-1], "the reply's copy link")
        await pilot.pause()
        assert links[-1].styles.background != before  # :focus in app.tcss
        assert links[0].styles.background == before
        # The Undo control and a tool line's expander change too.
        undo = line_of(app, "e1").query_one(Button)
        assert not undo.styles.text_style.reverse
        await go_to(pilot, app, lambda w: w is undo, "the Edit's Undo control")
        await pilot.pause()
        assert undo.styles.text_style.reverse and undo.styles.text_style.underline
        title = line_of(app, "e1").query_one(CollapsibleTitle)
        unfocused = title.styles.background
        await pilot.press("up")
        assert app.focused is title
        await pilot.pause()
        assert title.styles.background != unfocused
        # A code block: its lines are drawn in the focus colour only while it has focus.
        view = await go_to(pilot, app, lambda w: isinstance(w, ReplyView), "the code block")
        assert isinstance(view, ReplyView)
        rows = view.block_rows(view.code_focus)
        assert rows is not None
        focus_colour = view.get_component_rich_style("reply-view--code-focus").bgcolor
        assert focus_colour is not None

        def colours() -> set[object]:
            return {segment.style.bgcolor for segment in view.render_line(rows[0]) if segment.style}

        await pilot.pause()
        assert colours() == {focus_colour}
        await pilot.press("escape")
        assert isinstance(app.focused, PromptInput)
        assert focus_colour not in colours()


async def test_items_stay_out_of_the_tab_cycle_and_ctrl_g_with_an_empty_chat_stays_put(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+g")  # nothing to move to yet: the prompt keeps the keys
        assert isinstance(app.focused, PromptInput)
        line = ToolLine(ToolCall("r", "Read", {"path": ".env"}), 1, 12)
        await app.chat.add(line)
        line.finish(ToolResult("The user did not allow reading .env.", True, "not allowed by you"))
        title = str(line.query_one(Collapsible).title)
        assert title == "🔧 ⚠ Read .env · not allowed by you · round 1/12"  # names the tool and the file
        chain = [type(w).__name__ for w in app.screen.focus_chain]
        assert chain == ["ProjectTree", "FilePreview", "Transcript", "PromptInput"]
        await pilot.press("ctrl+g")
        assert isinstance(app.focused, CollapsibleTitle)


# -- Tab in the prompt ----------------------------------------------------------------------------------------------


async def test_tab_in_the_prompt_completes_or_does_nothing_and_shift_tab_leaves(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.finder is not None, what="the file index")
        prompt = app.chat.prompt.input
        assert app.focused is prompt
        await pilot.press(*"@app/models.py", "tab")
        assert prompt.value == "@app/models.py "
        await pilot.press(*"and @.zz", "tab")  # nothing matches: nothing to complete
        assert app.focused is prompt
        await pilot.press(*" now")
        assert prompt.value == "@app/models.py and @.zz now"
        await pilot.press("tab", "tab")  # no menu at all
        assert app.focused is prompt
        prompt.value = ""
        await pilot.press("/", "h", "e", "tab")
        assert prompt.value == "/help "
        # Shift+Tab leaves the prompt and walks the panes back: chat, preview, tree, prompt.
        seen = []
        for _ in range(4):
            await pilot.press("shift+tab")
            seen.append(app.focused.id if app.focused else None)
        assert seen == ["transcript", "preview", "tree", "prompt-input"]
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "tab")  # from the tree, Tab goes forward
        assert app.focused is not None and app.focused.id == "preview"
