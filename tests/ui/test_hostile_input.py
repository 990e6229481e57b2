"""Hostile and broken input through the app: names that try markup or escape sequences, secrets
behind symlinks, unreadable folders, and the ways a question could get lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import DirectoryTree, Static

from buddy_tui.context.attachments import is_sensitive
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.choice import ChoiceScreen
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.prompt import Chip
from buddy_tui.ui.widgets.transcript import AssistantMessage, Note
from tests.fake_api import Cut, FakeAnthropic, Hang, HttpError, Reply, Script, StreamError
from tests.helpers import caught_up, choose, connected, make_app, settled, submit, text_of, wait_for


def shown(title: object) -> Content:
    """A border title as Textual will draw it (it keeps titles as escaped markup)."""
    return title if isinstance(title, Content) else Content.from_markup(str(title))


async def dialog_answered(pilot: Pilot[None], app: BuddyApp) -> None:
    """The dialog has closed and the chat has acted on the answer (whatever that set off)."""
    await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceScreen), what="the dialog to close")
    await caught_up(pilot, app.chat)


def status(app: BuddyApp) -> str:
    reply = app.query(AssistantMessage).last()
    return text_of(reply.query_one(".status", Static))


async def test_markup_and_escape_sequences_in_names_are_shown_literally(project: Path) -> None:
    markup = project / "[@click=app.quit]x[-].py"
    markup.write_text("print('[b]hi[/b]')\n")
    escape = project / "\x1b]0;PWNED\x07evil.py"
    escape.write_text("x = 1\n")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        preview = app.query_one(FilePreview)
        preview.show(markup)
        await wait_for(pilot, lambda: preview.preview is not None)
        title = shown(preview.border_title)
        assert title.plain == "[@click=app.quit]x[-].py" and not title.spans
        assert "[b]hi[/b]" in preview.render_line(0).text
        preview.show(escape)
        await wait_for(pilot, lambda: preview.preview is not None and preview.preview.path == escape)
        assert shown(preview.border_title).plain == "␛]0;PWNED␇evil.py"
        tree = app.query_one(DirectoryTree)
        await wait_for(pilot, lambda: len(tree.root.children) > 3)
        labels = [str(node.label) for node in tree.root.children]
        assert "␛]0;PWNED␇evil.py" in labels and not any("\x1b" in label for label in labels)


async def test_secrets_behind_a_symlink_or_in_a_secrets_folder_need_consent(project: Path) -> None:
    (project / "config.txt").symlink_to(project / ".env")
    (project / "secrets").mkdir()
    (project / "secrets" / "prod.yaml").write_text("password: hunter2\n")
    assert is_sensitive(project / "config.txt") and is_sensitive(project / "secrets" / "prod.yaml")
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        app.chat.attach(project / "config.txt")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        assert "config.txt" in text_of(app.screen.query_one("#dialog-title", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert not app.query(Chip)


async def test_escape_in_the_secrets_dialog_cancels_sending(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "what is in @.env ?")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        await pilot.press("escape")
        await dialog_answered(pilot, app)
        assert online.message_requests() == [] and not app.chat.busy
        assert app.chat.prompt.input.value == "what is in @.env ?"


async def test_mentioning_a_file_in_an_unreadable_folder_does_not_crash(
    project: Path, online: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_is_file = Path.is_file

    def guarded(self: Path) -> bool:
        if "locked" in self.parts:
            raise PermissionError(13, "Permission denied")
        return real_is_file(self)

    monkeypatch.setattr(Path, "is_file", guarded)
    online.queue(Reply(["ok"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "look at @locked/inner/a.py")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        assert app.is_running and "<source>" not in json.dumps(online.message_requests()[0].body)


async def test_clear_while_waiting_does_not_bring_the_question_back(project: Path, online: FakeAnthropic) -> None:
    online.queue(Hang(5.0))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "slow question")
        await wait_for(pilot, lambda: app.chat.busy)
        await submit(pilot, app, "/clear")
        await wait_for(pilot, lambda: any(text_of(n).startswith("New conversation.") for n in app.query(Note)),
                       what="the new conversation")
        assert not app.chat.busy and app.chat.prompt.input.value == ""
        assert not app.query(AssistantMessage)


async def test_a_failed_question_survives_typing_and_retry_sends_it(project: Path, online: FakeAnthropic) -> None:
    online.queue(StreamError(["par", "tial "], delay=0.3), Reply(["second time lucky"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "first question")
        await wait_for(pilot, lambda: app.chat.busy)
        app.chat.prompt.input.value = "something new"
        await wait_for(pilot, lambda: settled(app) and "during the reply" in status(app))
        assert app.chat.prompt.input.value == "something new"
        notes = [text_of(n) for n in app.query(Note)]
        assert "Your question was kept: Ctrl+R or /retry sends it again." in notes
        await submit(pilot, app, "/retry")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app))
        body = online.message_requests()[1].body
        assert body is not None and body["messages"][-1]["content"][-1]["text"] == "first question"
        assert app.query(AssistantMessage).last().text == "second time lucky"


@pytest.mark.parametrize(
    ("script", "words"),
    [(Cut(["half an ans"]), "Lost the connection to the API during the reply"),
     (HttpError(500, "api_error", "Internal server error"), "internal error (500)")],
)
async def test_lost_connection_and_server_error_through_the_app(
    project: Path, online: FakeAnthropic, script: Script, words: str
) -> None:
    online.queue(script)
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "will it survive?")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        assert words in status(app)
        assert app.chat.prompt.input.value == "will it survive?"
        if isinstance(script, Cut):
            assert app.query(AssistantMessage).last().text == "half an ans"  # the partial answer is kept


async def test_backspace_and_ctrl_o_drop_attachments(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        app.chat.attach(project / "README.md")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 1)
        app.chat.attach(project / "requirements.txt")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 2)
        app.chat.prompt.input.focus()
        await pilot.press("backspace")
        await pilot.pause()
        assert [c.attachment.path for c in app.query(Chip)] == ["README.md"]
        app.chat.attach(project / "requirements.txt")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 2)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not app.query(Chip) and app.chat.prompt.attachments == []


@pytest.mark.parametrize("choice", ["drop", "head", "escape"])
async def test_over_budget_the_user_chooses_what_gives(project: Path, online: FakeAnthropic,
                                                         monkeypatch: pytest.MonkeyPatch, choice: str) -> None:

    monkeypatch.setenv("BUDDY_TUI_CONTEXT_BUDGET", "20000")
    big = project / "dump.sql"
    big.write_text("INSERT INTO t VALUES (1);\n" * 4000)  # ~100 KB, ~30k tokens
    online.queue(Reply(["fits now"]))
    app = make_app(project, max_tokens=1000)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "explain @dump.sql please")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        title = text_of(app.screen.query_one("#dialog-title", Static))
        assert title.startswith("Too big for the model by ")
        counted = [r for r in online.requests if r.path == "/v1/messages/count_tokens"]
        assert counted, "near the limit the API's count_tokens endpoint is asked"
        if choice == "escape":
            await pilot.press("escape")
            await dialog_answered(pilot, app)
            assert online.message_requests() == [] and not app.chat.busy
            assert app.chat.prompt.input.value == "explain @dump.sql please"
            return
        await choose(pilot, choice)
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        sent = json.dumps(online.message_requests()[0].body)
        if choice == "drop":
            assert "<source>dump.sql</source>" not in sent
        else:
            assert "<source>dump.sql</source>" in sent and "Only the first" in sent
            assert 0 < sent.count("INSERT INTO t VALUES") < 4000  # only the head of the 4,000 lines
        assert app.query(AssistantMessage).last().text == "fits now"


@pytest.mark.parametrize(("key", "expect_sent", "expect_text"), [
    ("redact", True, "[REDACTED:"), ("send", True, "hunter2-prod-Secret9"), ("escape", False, "")])
async def test_secret_values_are_flagged_before_sending(project: Path, online: FakeAnthropic, key: str,
                                                         expect_sent: bool, expect_text: str) -> None:

    (project / "settings.py").write_text('DEBUG = False\nDB_PASSWORD = "hunter2-prod-Secret9"\n')
    online.queue(Reply(["noted"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "review @settings.py")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-detail"))
        detail = text_of(app.screen.query_one("#dialog-detail", Static))
        assert "settings.py:2" in detail and "hunter2-prod-Secret9" not in detail
        if key == "escape":
            await pilot.press(key)
        else:
            await choose(pilot, key)
        if not expect_sent:
            await dialog_answered(pilot, app)
            assert online.message_requests() == [] and not app.chat.busy
            assert app.chat.prompt.input.value == "review @settings.py"
            return
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        sent = json.dumps(online.message_requests()[0].body)
        assert expect_text in sent and "DEBUG = False" in sent
        if key == "redact":
            assert "hunter2-prod-Secret9" not in sent


async def test_tree_survives_loops_links_out_fifos_and_odd_names(project: Path, tmp_path: Path) -> None:
    import os

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("nope\n")
    (project / "loop").symlink_to(project)  # a folder that contains itself
    (project / "escape").symlink_to(outside)
    (project / "escape.txt").symlink_to(outside / "secret.txt")
    os.mkfifo(project / "pipe")
    os.close(os.open(os.fsencode(project) + b"/caf\xe9.txt", os.O_CREAT | os.O_WRONLY))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        tree = app.query_one(DirectoryTree)
        await wait_for(pilot, lambda: len(tree.root.children) > 5)
        labels = {str(n.label) for n in tree.root.children}
        assert "pipe" in labels and "caf\ufffd.txt" in labels
        assert not {"loop", "escape", "escape.txt"} & labels  # nothing that leads out, or in circles
        preview = app.query_one(FilePreview)
        preview.show(project / "pipe")  # would block forever if it were opened for reading
        await wait_for(pilot, lambda: preview.preview is not None)
        assert preview.preview is not None and "not a regular file" in preview.preview.message
        await wait_for(pilot, lambda: app.finder is not None, what="the index")
        assert app.finder is not None and not app.finder.search("secret")
