"""No keystroke decides by accident: printable keys never answer a dialog, allowing a tool for the
whole conversation takes a second step, and nothing typed in a dialog reaches the prompt."""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, Input, Static

from buddy_tui.context.attachments import Attachment
from buddy_tui.context.budget import Budget
from buddy_tui.context.secrets import SecretFinding
from buddy_tui.tools.asking import Approval, ChangeRequest
from buddy_tui.ui.screens.approval import ApprovalScreen
from buddy_tui.ui.screens.budget import over_budget
from buddy_tui.ui.screens.choice import ChoiceScreen
from buddy_tui.ui.screens.confirm import confirm
from buddy_tui.ui.screens.decision import DecisionScreen
from buddy_tui.ui.screens.secrets import secrets_found
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import (
    choose,
    connected,
    dialog_takes_keys,
    make_app,
    send_burst,
    settled,
    submit,
    type_burst,
    wait_for,
)

#: Every key a person can type as text: letters, digits, punctuation and space.
PRINTABLE = [c for c in string.printable if c not in "\t\n\r\x0b\x0c"]
CHANGE = ChangeRequest("Edit", "app/models.py", "-old\n+new\n", sensitive=False)


class Host(App[None]):
    """Shows one dialog on top of a plain screen and records what it was dismissed with."""

    def __init__(self, dialog: DecisionScreen[Any]) -> None:
        super().__init__()
        self.dialog = dialog
        self.results: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("behind the dialog")

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


async def type_everything(pilot: Pilot[None]) -> None:
    await type_burst(pilot, "".join(PRINTABLE))


def choice_dialogs() -> list[ChoiceScreen]:
    attachment = Attachment(path="settings.py", text="x = 1\n" * 20_000, size=120_000, truncated=False)
    finding = SecretFinding(kind="password", line=2, start=0, end=4, preview="hu…9")
    return [confirm("Send .env?", "It holds secrets.", yes="Send it", no="Leave it out"),
            secrets_found([(attachment, finding)]),
            over_budget(Budget(used=30_000, reserve=1_000, limit=20_000, counted_by="estimate"), [attachment])]


async def test_no_printable_key_answers_the_approval_from_any_focus() -> None:
    app = Host(ApprovalScreen(CHANGE, guard=0))
    async with app.run_test() as pilot:
        dialog = app.dialog
        await dialog_takes_keys(pilot, dialog)
        reason = dialog.query_one("#approval-reason", Input)
        assert dialog.focused is reason  # what the user types lands in the reason
        await type_everything(pilot)
        assert app.results == [] and app.screen is dialog
        assert reason.value == "".join(PRINTABLE)
        reason.value = ""
        for button in dialog.query(Button):  # the same with each button focused
            button.focus()
            await type_everything(pilot)
            assert app.results == [] and app.screen is dialog, f"a printable key answered on {button.id}"
        assert reason.value == ""


async def test_enter_in_the_reason_denies_with_it_and_ctrl_y_allows_once() -> None:
    app = Host(ApprovalScreen(CHANGE, guard=0))
    async with app.run_test() as pilot:
        await dialog_takes_keys(pilot, app.dialog)
        await pilot.press(*"please keep it", "enter")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [Approval("deny", "please keep it")]
    app = Host(ApprovalScreen(CHANGE, guard=0))
    async with app.run_test() as pilot:
        await dialog_takes_keys(pilot, app.dialog)
        await pilot.press("ctrl+y")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [Approval("once", "")]


async def test_allowing_for_the_conversation_takes_a_second_deliberate_step() -> None:
    app = Host(ApprovalScreen(CHANGE, guard=0))
    async with app.run_test() as pilot:
        dialog = app.dialog
        await choose(pilot, "always")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), what="the second question")
        second = app.screen
        assert isinstance(second, ChoiceScreen)
        await dialog_takes_keys(pilot, second)
        assert second.focused is not None and second.focused.id == "back"  # Enter alone goes back
        await type_everything(pilot)
        assert app.screen is second and app.results == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is dialog, what="back to the approval")
        assert app.results == [] and dialog.focused is not None and dialog.focused.id == "always"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await pilot.press("escape")  # Esc on the second step goes back too
        await wait_for(pilot, lambda: app.screen is dialog)
        assert app.results == []
        await choose(pilot, "always")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen))
        await choose(pilot, "always")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [Approval("always", "")]


async def test_a_secrets_file_is_never_allowed_for_the_conversation() -> None:
    dialog = ApprovalScreen(ChangeRequest("Edit", ".env", "-a\n+b\n", sensitive=True), guard=0)
    app = Host(dialog)
    async with app.run_test() as pilot:
        await dialog_takes_keys(pilot, dialog)
        assert [b.id for b in dialog.query(Button)] == ["deny", "once"]
        dialog.action_decide("always")
        await pilot.pause()
        assert app.screen is dialog and app.results == []


async def test_keys_are_dropped_while_the_dialog_has_just_appeared() -> None:
    app = Host(ApprovalScreen(CHANGE, guard=3600))  # a guard no test run outlasts
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.dialog.is_mounted)
        await type_everything(pilot)
        await pilot.press("ctrl+y", "enter", "tab", "enter")
        assert app.results == [] and app.dialog.focused is None
        assert app.dialog.query_one("#approval-reason", Input).value == ""
        await pilot.press("escape")  # cancelling is always allowed
        await wait_for(pilot, lambda: app.results)
        assert app.results == [None]


@pytest.mark.parametrize("index", range(3), ids=["secrets file", "secret values", "budget"])
async def test_no_printable_key_answers_a_question_and_enter_takes_the_safe_answer(index: int) -> None:
    dialog = choice_dialogs()[index]
    app = Host(dialog)
    async with app.run_test(size=(120, 40)) as pilot:
        await dialog_takes_keys(pilot, dialog)
        labels = [str(b.label) for b in dialog.query(Button)]
        assert not any("(" in label for label in labels), f"no answer advertises a letter: {labels}"
        for button in dialog.query(Button):
            button.focus()
            await type_everything(pilot)
            assert app.results == [] and app.screen is dialog, f"a printable key answered on {button.id}"
        dialog.query_one(f"#{dialog.default}", Button).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.results)
        assert app.results == [{0: "no", 1: "redact", 2: "cancel"}[index]]


async def test_typing_a_sentence_into_an_approval_changes_nothing_and_leaks_nothing(
        project: Path, online: FakeAnthropic) -> None:
    before = (project / "app" / "models.py").read_text()
    online.queue(
        Reply([], tools=[ToolUse("e1", "Edit", {"path": "app/models.py", "old_string": "import",
                                                 "new_string": "import  "})]),
        Reply(["Understood, I will leave it."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "tidy app/models.py")
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen), timeout=10, what="the approval")
        dialog = app.screen
        assert isinstance(dialog, ApprovalScreen)
        await dialog_takes_keys(pilot, dialog)
        await pilot.press(*"please keep it, and use an ORM; no thanks")
        assert app.screen is dialog and app.chat.prompt.input.value == ""
        persona = app.session.current.name
        # The main screen's keys wait too (Textual keeps app bindings out of a modal screen's chain).
        await pilot.press("f2", "f3", "ctrl+f", "ctrl+o", "ctrl+b", "ctrl+g")
        assert app.screen is dialog and app.session.current.name == persona and dialog.focused is not None
        assert dialog.focused.id == "approval-reason"
        assert (project / "app" / "models.py").read_text() == before
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app), timeout=10)
        assert (project / "app" / "models.py").read_text() == before
        assert app.chat.prompt.input.value == ""
        body = online.message_requests()[1].body
        assert body is not None
        result = body["messages"][-1]["content"][0]
        assert result["is_error"] and result["content"].endswith("please keep it, and use an ORM; no thanks")
        assert app.chat.runner.always_allowed == set()


@pytest.mark.parametrize("make", [lambda: ApprovalScreen(CHANGE, guard=3600), lambda: choice_dialogs()[0]],
                         ids=["approval", "secrets file"])
async def test_a_click_while_the_dialog_has_just_appeared_decides_nothing(
        make: Callable[[], DecisionScreen[Any]]) -> None:
    """A click meant for the chat can land on a button of a dialog that has just appeared: it does
    nothing, and when the guard ends the focus goes to the safe place, not to the clicked button."""
    dialog = make()
    dialog.guard = 3600  # the test ends the guard itself
    app = Host(dialog)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: dialog.is_mounted and dialog.query(Button))
        risky = "#once" if isinstance(dialog, ApprovalScreen) else "#yes"
        await pilot.click(risky)
        await pilot.pause()
        assert app.results == [] and app.screen is dialog
        dialog.end_guard()  # what the guard's timer does
        await wait_for(pilot, lambda: dialog.focused is not None and dialog.focused.id in ("approval-reason", "no"),
                       what="the focus on the safe place")
        await pilot.press("o", "k", "enter")
        await wait_for(pilot, lambda: app.results)
        assert app.results in ([Approval("deny", "ok")], ["no"])


async def test_keys_typed_fast_move_the_focus_one_button_each() -> None:
    """Tab → → Enter arriving in one burst lands where the same keys typed slowly land: on "allow
    for this conversation", which asks again, not on "allow once", which would apply the change."""
    app = Host(ApprovalScreen(CHANGE, guard=0))
    async with app.run_test() as pilot:
        await dialog_takes_keys(pilot, app.dialog)
        send_burst(pilot, ["tab", "right", "right", "enter"])
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) or app.results, what="an answer")
        assert app.results == [] and isinstance(app.screen, ChoiceScreen)


async def test_a_protected_path_says_why_it_is_asked_and_a_name_cannot_break_the_title() -> None:
    """Agent configuration is named as such (not as a secrets file), has no allow-for-the-conversation
    button, and a line break in the path is shown, not obeyed."""
    change = ChangeRequest("Write", ".claude/settings.json\nClaude wants nothing", "+{}\n", sensitive=True,
                           protected="agent configuration")
    app = Host(ApprovalScreen(change, guard=0))
    async with app.run_test() as pilot:
        await pilot.pause()
        title = str(app.screen.query_one("#dialog-title", Static).render())
        assert "This is agent configuration: it is asked about every time." in title
        assert "holds secrets" not in title
        assert ".claude/settings.json\u240aClaude wants nothing" in title
        assert not app.screen.query("#always")
