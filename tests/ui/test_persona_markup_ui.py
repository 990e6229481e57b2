"""Names and descriptions from persona, agent and command files are shown literally everywhere the
app shows them: a description "[/]boom" killed the app on Ctrl+P and a name "[/]evil" on F3 (the
pin notification), losing the draft. Each place is driven through the app with Pilot; the test
passes when the app is still running, the draft is kept, and the text is on screen as written."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import DataTable, Static

from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.help import HelpScreen
from buddy_tui.ui.screens.problems import ProblemsScreen
from buddy_tui.ui.widgets.prompt import CommandMenu
from tests.helpers import make_app, text_of, wait_for

#: Rich markup that raises when parsed as markup ("[/]" closes a tag never opened), plus a tag
#: that would restyle (and so hide) the text when parsed, and an escape sequence.
EVIL_NAME = "[/]evil"
BOOM = "[/]boom [bold red]loud[/] \x1b[2J"


def hostile_project(root: Path) -> Path:
    """A project whose agent, skill, persona and command files carry markup in names and descriptions."""
    agents = root / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "evil.md").write_text(f'---\nname: "{EVIL_NAME}"\ndescription: "{BOOM}"\n---\nYou are evil.\n')
    (agents / "quiet.md").write_text(f'---\nname: quiet\ndescription: "{BOOM}"\n---\nYou are quiet.\n')
    commands = root / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "boom.md").write_text(f'---\ndescription: "{BOOM}"\nargument-hint: "[/]hint"\n---\nDo $ARGUMENTS\n')
    # A file that cannot be read, whose reason quotes the markup (for /problems).
    (agents / "broken.md").write_text(f"---\nname: [/]broken\ndescription: {BOOM}\n")
    (root / "app.py").write_text("print('hi')\n")
    return root


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    return hostile_project(tmp_path / "hostile")


async def test_the_palette_shows_markup_in_descriptions_literally(hostile: Path) -> None:
    app = make_app(hostile)
    async with app.run_test(size=(160, 48)) as pilot:
        app.chat.prompt.input.value = "my long draft"
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.pause()
        await pilot.press(*"quiet")
        await pilot.pause(0.3)
        await wait_for(pilot, lambda: "[/]boom" in _screen_text(app), what="the description, literally")
        assert app.is_running
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))
        assert app.chat.prompt.input.value == "my long draft"


async def test_f3_pins_a_persona_whose_name_is_markup(hostile: Path) -> None:
    app = make_app(hostile)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        app.chat.prompt.input.value = "my long draft"
        app.chat.override = app.session.catalog.personas[EVIL_NAME]  # as F2 picks it
        await pilot.press("f3")
        await pilot.pause(0.2)
        assert app.is_running and app.session.pinned
        assert app.chat.prompt.input.value == "my long draft"
        await wait_for(pilot, lambda: "[/]evil is pinned" in _screen_text(app), what="the notification, literally")
        # The header names it literally too.
        assert "[/]evil" in text_of(app.query_one("#persona-name", Static))


async def test_help_problems_and_the_command_menu_show_markup_literally(hostile: Path) -> None:
    app = make_app(hostile)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        assert '"[/]boom [bold red]loud[/] ␛[2J"' in _screen_text(app)  # the command, as written
        seen = ""
        for _ in range(8):  # the personas are further down: page until they show
            await pilot.press("pagedown")
            await pilot.pause(0.1)
            seen += _screen_text(app)
        assert "[/]evil" in seen
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        app.action_problems()
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen) and app.screen.query(DataTable),
                       what="/problems")
        table = app.screen.query_one(DataTable)
        cells = " ".join(str(cell) for row in range(table.row_count) for cell in table.get_row_at(row))
        assert "broken.md" in cells
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProblemsScreen))
        await pilot.press("/", *"boo")
        await wait_for(pilot, lambda: app.query_one(CommandMenu).display, what="the command menu")
        await pilot.pause(0.2)
        assert "[/]boom" in _screen_text(app)
        assert app.is_running


async def test_switching_to_a_persona_whose_name_is_markup(hostile: Path) -> None:
    app = make_app(hostile)
    async with app.run_test(size=(160, 48)) as pilot:
        app.chat.prompt.input.value = f"/persona {EVIL_NAME}"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.current.name == EVIL_NAME, what="the switch")
        await pilot.pause(0.2)
        assert app.is_running
        assert "[/]evil" in _screen_text(app)
        app.chat.prompt.input.value = "/persona"
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.is_running and "[/]boom" in _screen_text(app)


def _screen_text(app: BuddyApp) -> str:
    """Everything the app shows right now, as plain text (from a screenshot: what is drawn)."""
    svg = app.export_screenshot()
    runs = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return html.unescape("".join(runs)).replace("\xa0", " ")
