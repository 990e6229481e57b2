"""Files as context in the app: showing ignored files, /add /drop /files, attaching selected lines,
and opening the preview from a file reference in an answer."""

from __future__ import annotations

import json
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DirectoryTree, OptionList

from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.prompt import Chip
from buddy_tui.ui.widgets.transcript import Note, ReferenceLink
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import click, connected, make_app, settled, submit, text_of, wait_for


def top_level(app: BuddyApp) -> set[str]:
    return {str(n.label) for n in app.query_one(DirectoryTree).root.children}


async def command(pilot: Pilot[None], app: BuddyApp, text: str) -> None:
    """Run a /add, /drop or /files command and wait for the note that answers it."""
    before = len(app.query(Note))
    await submit(pilot, app, text)
    await wait_for(pilot, lambda: len(app.query(Note)) > before, what=f"the answer to {text}")


async def test_f4_shows_ignored_files_and_git(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "app" in top_level(app))
        assert not {"__pycache__", "server.log", ".git"} & top_level(app)
        await pilot.press("f4")
        await wait_for(pilot, lambda: {"__pycache__", "server.log", ".git"} <= top_level(app))
        await pilot.press("f4")
        await wait_for(pilot, lambda: not {"__pycache__", "server.log", ".git"} & top_level(app))


async def test_add_drop_and_files(project: Path) -> None:
    (project / "app" / "db.py").write_text("engine = None\n")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await command(pilot, app, "/add app/*.py README.md nope.txt")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 4)
        assert {c.attachment.path for c in app.query(Chip)} == {"app/__init__.py", "app/db.py", "app/models.py",
                                                                 "README.md"}
        assert "No such file in the project: nope.txt" in text_of(app.query(Note).last())
        await command(pilot, app, "/files")
        listing = text_of(app.query(Note).last())
        assert listing.startswith("Attached to the next question:") and "app/db.py: 14 B ~4 tok" in listing
        assert "Total ~" in listing
        await command(pilot, app, "/drop app/*")
        await pilot.pause()
        assert [c.attachment.path for c in app.query(Chip)] == ["README.md"]
        await command(pilot, app, "/drop")
        await pilot.pause()
        assert not app.query(Chip)
        await command(pilot, app, "/add ../../etc/passwd")
        assert "No such file in the project" in text_of(app.query(Note).last())


async def test_selected_lines_are_attached_and_sent_alone(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["It builds SQL with %."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        preview = app.query_one(FilePreview)
        preview.show(project / "app" / "models.py")
        await wait_for(pilot, lambda: preview.preview is not None)
        preview.focus()
        preview.go_to_line(12)
        await pilot.press("shift+down", "shift+down")
        assert preview.selection == (11, 13)
        await pilot.press("a")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 1)
        chip = app.query_one(Chip)
        assert chip.attachment.key == "app/models.py:12-14" and chip.attachment.lines == (12, 14)
        assert chip.attachment.text.splitlines()[0] == "def load_orders(db, user_id):"
        assert app.focused is app.chat.prompt.input
        await pilot.press(*"what is wrong here?", "enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        documents = json.dumps(online.message_requests()[0].body)
        assert "Lines 12-14 of this file." in documents and "class Order" not in documents


async def test_file_references_in_an_answer_open_the_preview(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["The N+1 is at app/models.py:14 and `README.md:1`; see also nowhere.py:3."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "where is the N+1?")
        await wait_for(pilot, lambda: settled(app) and app.query(ReferenceLink))
        links = list(app.query(ReferenceLink))
        assert [(link.path, link.line) for link in links] == [("app/models.py", 14), ("README.md", 1)]
        await click(pilot, links[0])
        preview = app.query_one(FilePreview)
        await wait_for(pilot, lambda: preview.path == project / "app" / "models.py" and preview.cursor == 13)
        assert app.focused is preview


async def test_ctrl_f_finds_a_file_and_opens_it(project: Path) -> None:
    from buddy_tui.ui.screens.finder import FinderScreen

    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.finder is not None, what="the index")
        assert app.index_stats is not None and app.index_stats.files == 7  # __pycache__ and *.log are ignored
        await pilot.press("ctrl+f")
        await wait_for(pilot, lambda: isinstance(app.screen, FinderScreen) and app.screen.query("#finder-input"))
        await pilot.press(*"amod")
        await pilot.pause()
        results = app.screen.query_one("#finder-results", OptionList)
        assert results.get_option_at_index(0).id == "app/models.py"
        await pilot.press("enter")
        preview = app.query_one(FilePreview)
        await wait_for(pilot, lambda: preview.path == project / "app" / "models.py" and preview.preview is not None)
        assert app.focused is preview
        await pilot.press("a")  # no selection: the whole file
        await wait_for(pilot, lambda: [c.attachment.key for c in app.query(Chip)] == ["app/models.py"])


async def test_at_mentions_complete_from_the_index(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.finder is not None, what="the index")
        app.chat.prompt.input.focus()
        await pilot.press(*"compare @req")
        await pilot.pause()
        menu = app.chat.prompt.menu
        assert menu.display and menu.mode == "mention"
        assert menu.get_option_at_index(0).id == "requirements.txt"
        await pilot.press("tab")
        assert app.chat.prompt.input.value == "compare @requirements.txt "
        await pilot.press(*"with @app/mo")
        await pilot.pause()
        await pilot.press("enter")  # Enter picks the file while the menu is open; it does not send
        assert app.chat.prompt.input.value == "compare @requirements.txt with @app/models.py "
        assert not menu.display
