"""Choosing the model (/model and the palette), and the palette offering every action."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import OptionList

from buddy_tui.conversation.models import known_models
from buddy_tui.ui.palette import PersonaCommands
from buddy_tui.ui.screens.models import ModelScreen
from tests.fake_api import MODELS, FakeAnthropic, Reply
from tests.helpers import connected, make_app, settled, submit, wait_for


def listed(screen: ModelScreen) -> list[str]:
    if not screen.query("#models-list"):
        return []  # not composed yet
    options = screen.query_one("#models-list", OptionList)
    return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]


async def test_the_picker_lists_the_endpoints_models_and_the_choice_is_used(
        project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["ok"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "/model")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen), what="the picker")
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        await wait_for(pilot, lambda: listed(screen) == [m["id"] for m in MODELS], what="the endpoint's list")
        assert "the endpoint's list" in str(screen.query_one("#models-source").render())
        await pilot.press(*"haiku")  # filter
        await wait_for(pilot, lambda: listed(screen)[:1] == ["claude-haiku-4-5-20251001"], what="the filter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelScreen), what="the picker to close")
        assert app.session.settings.model == "claude-haiku-4-5-20251001"
        assert str(app.chat.query_one("#connection").render()).startswith("claude-haiku-4-5-20251001 @ http://")
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        body = online.message_requests()[0].body
        assert body is not None and body["model"] == "claude-haiku-4-5-20251001"


async def test_model_with_a_name_switches_at_once_and_esc_keeps_the_model(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        before = app.session.settings.model
        app.action_choose_model()
        await wait_for(pilot, lambda: isinstance(app.screen, ModelScreen), what="the picker")
        screen = app.screen
        assert isinstance(screen, ModelScreen)
        await wait_for(pilot, lambda: listed(screen) == [m.id for m in known_models()],
                       what="the built-in list (no client yet)")
        assert "No client yet" in str(screen.query_one("#models-source").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ModelScreen))
        assert app.session.settings.model == before
        await submit(pilot, app, "/model claude-opus-4-1")
        await wait_for(pilot, lambda: app.session.settings.model == "claude-opus-4-1", what="the switch")


def test_the_built_in_list_is_current_models_newest_first() -> None:
    names = [m.id for m in known_models()]
    assert names and all(n.startswith("claude-") and not n[-8:].isdigit() for n in names)
    assert len(names) == len(set(names))


async def test_the_palette_offers_every_action_with_its_key(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        provider = PersonaCommands(app.screen)
        found = {str(hit.prompt): hit async for hit in provider.discover()}
        for action in ("Quit", "Retry", "Help", "Find file", "Top of the chat", "Hide files", "/resume",
                       "/export", "/cost", "/clear", "Choose the model"):
            assert action in found, action
        assert found["Retry"].help == "Ctrl+R"
        app.call_later(found["Help"].command)  # as the palette runs it
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help from the palette")
