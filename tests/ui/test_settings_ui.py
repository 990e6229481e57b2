"""The config file and the remembered state, through the app: keymap overrides, the theme (from
the config, the variable, or the last one picked), each project's model, and tool permissions
kept across conversations when the config says so."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.command import DiscoveryHit
from textual.widgets import Markdown

from buddy_tui.cli import main
from buddy_tui.settings.config_file import config_path
from buddy_tui.settings.ui_state import UiState
from buddy_tui.ui.palette import PersonaCommands
from buddy_tui.ui.screens.approval import ApprovalScreen
from buddy_tui.ui.screens.choice import ChoiceScreen
from buddy_tui.ui.widgets.transcript import Note
from tests.fake_api import FakeAnthropic, review_demo
from tests.helpers import choose, connected, make_app, settled, submit, text_of, wait_for


def write_config(text: str) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_keymap_from_the_config_rebinds_a_key_and_help_shows_it(project: Path) -> None:
    write_config('[keymap]\n"app.find_file" = "f9"\n')
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f9")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "FinderScreen", what="the finder on F9")
        await pilot.press("escape")
        await pilot.press("f1")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        page = app.screen.query_one(Markdown).source
        assert "| F9 | Find file |" in page


async def test_the_palette_shows_rebound_keys_and_the_prompt_obeys_them(project: Path) -> None:
    write_config('[keymap]\n"app.find_file" = "f9"\n"prompt.newline" = "ctrl+n, ?"\n')
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        assert app.keymap == {"app.find_file": "f9", "prompt.newline": "ctrl+n, ?"}
        found = {str(hit.display): hit async for hit in PersonaCommands(app.screen).discover()
                 if isinstance(hit, DiscoveryHit)}
        assert found["Find file"].help == "F9"
        app.action_focus_prompt()
        await pilot.press("a", "ctrl+n", "b", "?", "c")
        await wait_for(pilot, lambda: app.chat.prompt.input.text == "a\nb\nc", what="two new lines")


async def test_a_theme_picked_is_remembered_and_the_config_theme_applies_first(project: Path) -> None:
    write_config('theme = "nord"\n')
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
        app.theme = "gruvbox"  # as the palette's theme picker does
        await wait_for(pilot, lambda: UiState.load().theme == "gruvbox", what="the theme remembered")
    again = make_app(project)
    async with again.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert again.theme == "gruvbox"  # the last pick wins over the config's default


async def test_the_variable_wins_and_an_unknown_theme_is_reported(project: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    UiState.load().remember_theme("gruvbox")
    monkeypatch.setenv("BUDDY_TUI_THEME", "no-such-theme")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: any("theme 'no-such-theme'" in text_of(n) for n in app.query(Note)),
                       what="the theme problem in the chat")
        assert app.theme == "textual-dark"


def test_each_project_starts_with_the_model_last_picked_there(project: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import buddy_tui.ui.app as app_module

    chosen: list[str] = []
    monkeypatch.setattr(app_module.BuddyApp, "run", lambda self: chosen.append(self.session.settings.model))
    UiState.load().remember_model(project, "claude-haiku-4-5")
    other = tmp_path / "other"
    other.mkdir()
    assert main([str(project)]) == 0 and main([str(other)]) == 0
    assert main([str(project), "--model", "claude-opus-4-1"]) == 0
    monkeypatch.setenv("BUDDY_TUI_MODEL", "claude-sonnet-4-5")
    assert main([str(project)]) == 0
    assert chosen[0] == "claude-haiku-4-5" and chosen[1] != "claude-haiku-4-5"
    assert chosen[2:] == ["claude-opus-4-1", "claude-sonnet-4-5"]  # --model and the variable win


async def test_tool_permissions_are_kept_for_the_project_only_when_the_config_says_so(
        project: Path, online: FakeAnthropic) -> None:
    write_config("remember_tool_permissions = true\n")
    online.queue(*review_demo())
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "/buddy:review app")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#deny"),
                       what="the approval")
        assert isinstance(app.screen, ApprovalScreen)
        await choose(pilot, "always")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the second step")
        await choose(pilot, "always")
        await wait_for(pilot, lambda: settled(app) and not app.chat.busy, timeout=10)
        assert UiState.load().tools_for(project) == {"Edit"}
        await app.chat.clear()  # a new conversation: Edit is still allowed
        assert app.chat.runner.always_allowed == {"Edit"}
    write_config("")
    again = make_app(project)
    async with again.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert again.chat.runner.always_allowed == set()  # setting off: asked again
    assert os.stat(UiState.load().path).st_mode & 0o077 == 0


async def test_a_remembered_theme_that_is_gone_gives_way_to_the_configs(project: Path) -> None:
    UiState.load().remember_theme("a-theme-from-another-version")
    write_config('theme = "nord"\n')
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
