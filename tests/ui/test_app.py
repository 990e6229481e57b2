"""Pilot tests of the user's flows, with the real SDK talking to the fake API over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DirectoryTree, Markdown, Static
from textual.widgets.directory_tree import DirEntry
from textual.widgets.tree import TreeNode

from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.choice import ChoiceScreen
from buddy_tui.ui.screens.help import HelpScreen
from buddy_tui.ui.widgets.file_browser import FilePreview
from buddy_tui.ui.widgets.prompt import Chip, CommandMenu
from buddy_tui.ui.widgets.reply_view import ReplyView
from buddy_tui.ui.widgets.transcript import AssistantMessage, Note, UserMessage
from tests.fake_api import FakeAnthropic, HttpError, Reply
from tests.helpers import (
    caught_up,
    chat_worker_done,
    choose,
    connected,
    make_app,
    make_project,
    settled,
    submit,
    text_of,
    wait_for,
)

ANSWER = "## Risks under load\n\n- **N+1 queries** in `load_orders`\n- string-built SQL\n\n```python\nprint('x')\n```\n"


def tree_labels(app: BuddyApp) -> set[str]:
    tree = app.query_one(DirectoryTree)
    labels: set[str] = set()

    def walk(node: TreeNode[DirEntry]) -> None:
        for child in node.children:
            labels.add(str(child.label))
            walk(child)

    walk(tree.root)
    return labels


def find_node(app: BuddyApp, name: str) -> TreeNode[DirEntry]:
    tree = app.query_one(DirectoryTree)
    stack = list(tree.root.children)
    while stack:
        node = stack.pop()
        if str(node.label) == name:
            return node
        stack.extend(node.children)
    raise AssertionError(f"{name} not in the tree")


async def open_folder(pilot: Pilot[None], app: BuddyApp, name: str) -> None:
    node = find_node(app, name)
    node.expand()
    await wait_for(pilot, lambda: len(node.children) > 0, what=f"{name} to load")


async def select_file(pilot: Pilot[None], app: BuddyApp, name: str) -> None:
    tree = app.query_one(DirectoryTree)
    tree.select_node(find_node(app, name))
    await pilot.pause()


async def attach_models_py(pilot: Pilot[None], app: BuddyApp) -> None:
    """Wait for the tree and the client, then select app/models.py so it becomes a chip."""
    await connected(pilot, app)
    await wait_for(pilot, lambda: "app" in tree_labels(app))
    await open_folder(pilot, app, "app")
    await select_file(pilot, app, "models.py")
    await wait_for(pilot, lambda: len(app.query(Chip)) == 1)


def replies(app: BuddyApp) -> list[AssistantMessage]:
    return list(app.query(AssistantMessage))


def status(message: AssistantMessage) -> str:
    return text_of(message.query_one(".status", Static))


async def test_main_screen_shows_tree_preview_chat_and_footer(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "app" in tree_labels(app), what="the tree")
        labels = tree_labels(app)
        assert {"app", "README.md", "requirements.txt", ".gitignore", "logo.png", ".env"} <= labels
        assert not {"__pycache__", "server.log", ".git"} & labels  # ignored by .gitignore, and .git
        assert text_of(app.query_one("#persona-name", Static)) == "● Backend"
        await connected(pilot, app)
        assert online.base_url in text_of(app.query_one("#connection", Static))
        assert app.focused is app.chat.prompt.input
        footer_keys = {b.binding.key for b in app.active_bindings.values() if b.binding.show}
        assert {"ctrl+q", "f1"} <= footer_keys


async def test_selecting_a_file_previews_it_and_attaches_a_chip(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "app" in tree_labels(app))
        await open_folder(pilot, app, "app")
        await select_file(pilot, app, "models.py")
        preview = app.query_one(FilePreview)
        await wait_for(pilot, lambda: preview.preview is not None, what="the preview")
        assert preview.line_count == len((project / "app/models.py").read_text().splitlines())
        first, sixth = preview.render_line(0).text, preview.render_line(5).text
        assert first.startswith('  1 │ """Order models."""') and sixth.startswith("  6 │ class Order:")
        colours = {seg.style.color.name for seg in preview.render_line(5) if seg.style and seg.style.color}
        assert len(colours) >= 2  # line numbers and keywords are styled differently
        assert str(preview.border_title) == "app/models.py"
        chips = list(app.query(Chip))
        assert [c.attachment.path for c in chips] == ["app/models.py"]
        size = len((project / "app/models.py").read_bytes())
        assert text_of(chips[0]) == f"📎 models.py {size} B ~{-(-size * 2 // 7)} tok ✕"
        assert app.focused is app.chat.prompt.input


async def test_question_with_selected_file_streams_markdown_answer(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply.of(ANSWER, size=3, delay=0.05, input_tokens=900, cache_read_input_tokens=800))
    app = make_app(project)
    async with app.run_test(size=(110, 30)) as pilot:
        await attach_models_py(pilot, app)
        await submit(pilot, app, "what could go wrong with these models under load?")
        user = app.query_one(UserMessage)
        assert user.text == "what could go wrong with these models under load?"
        assert [f.split(" ")[0] for f in user.files] == ["app/models.py"]
        assert len(app.query(Chip)) == 0  # chips went with the question
        # While the answer streams, the user can still type.
        await wait_for(pilot, lambda: app.chat.busy and replies(app)[0].text, what="streaming")
        await pilot.press("a", "b")
        assert app.chat.prompt.input.value == "ab"
        transcript = app.chat.transcript
        await wait_for(pilot, lambda: transcript.max_scroll_y > 0, what="the chat to overflow")
        await pilot.press("pageup")
        await wait_for(pilot, lambda: transcript.scroll_y < transcript.max_scroll_y, what="scrolling up")
        await pilot.press("pagedown", "pagedown")
        reply = replies(app)[0]
        await wait_for(pilot, lambda: not app.chat.busy and "in 900" in status(reply), what="the answer to finish")
        assert reply.text == ANSWER
        view = reply.query_one(ReplyView)
        assert view.source == ANSWER
        assert "in 900 · out" in status(reply) and "cache read 800" in status(reply)
        assert [b.source for b in view.blocks if b.kind == "heading_open"] == ["## Risks under load"]
        assert "Risks under load" in view.shown_lines  # drawn as a heading: no hashes
        assert len(view.code_rows()) == 1
        sent = online.message_requests()[0].body
        assert sent is not None
        assert sent["system"][0]["text"] == app.session.current.prompt
        assert sent["system"][0]["cache_control"] == {"type": "ephemeral"}
        documents = sent["messages"][0]["content"][0]["text"]
        assert "<source>app/models.py</source>" in documents and "class Order:" in documents
        assert sent["messages"][0]["content"][1]["text"] == "what could go wrong with these models under load?"
        assert online.message_requests()[0].headers["authorization"] == "Bearer sk-ant-test-0123456789"
        # The next turn carries the conversation so far.
        online.queue(Reply(["ok"]))
        app.chat.prompt.input.value = ""
        await submit(pilot, app, "and the indexes?")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app))
        second = online.message_requests()[1].body
        assert second is not None
        assert [m["role"] for m in second["messages"]] == ["user", "assistant", "user"]
        assert second["messages"][1]["content"][0]["text"] == ANSWER


async def test_slash_shows_commands_and_buddy_api_sends_the_template(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["Contract first."]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await pilot.press("/")
        await pilot.pause()
        menu = app.query_one(CommandMenu)
        assert menu.display
        names = [menu.get_option_at_index(i).id for i in range(menu.option_count)]
        assert names[:6] == ["buddy:api", "buddy:brainstorm", "buddy:database", "buddy:improve", "buddy:review",
                             "buddy:secure"]
        assert {"help", "clear", "quit"} <= set(names)
        prompt_text = str(menu.get_option_at_index(0).prompt)
        assert "/buddy:api" in prompt_text and "Design or analyse an API" in prompt_text
        await pilot.press(*"buddy:a")
        await pilot.pause()
        assert menu.get_option_at_index(0).id == "buddy:api"  # fuzzy: the prefix match comes first
        await pilot.press("tab")
        assert app.chat.prompt.input.value == "/buddy:api "
        assert not menu.display
        await pilot.press(*"design a paginated /users endpoint", "enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app), what="the command")
        sent = online.message_requests()[0].body
        assert sent is not None
        prompt = sent["messages"][0]["content"][-1]["text"]
        assert prompt.startswith("Task: design a paginated /users endpoint")
        for step in ("Contract", "Security", "Performance", "Reliability", "Scalability"):
            assert step in prompt
        assert app.query_one(UserMessage).text == "/buddy:api design a paginated /users endpoint"
        assert replies(app)[0].text == "Contract first."


async def test_unknown_command_is_explained_without_calling_the_model(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "/buddy:apx make it")
        notes = [text_of(n) for n in app.query(Note)]
        assert any(n.startswith("Unknown command /buddy:apx.") and "/buddy:api" in n for n in notes)
        assert online.message_requests() == []


async def test_escape_stops_the_stream_and_keeps_the_partial_answer(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["word "] * 400, delay=0.02))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "tell me everything")
        await wait_for(pilot, lambda: replies(app) and replies(app)[0].text.count("word") >= 3)
        await pilot.press("escape")
        reply = replies(app)[0]
        kept = reply.text
        assert not app.chat.busy
        assert "Interrupted" in status(reply)
        await wait_for(pilot, online.client_gone.is_set, what="the HTTP stream to close")
        await wait_for(pilot, lambda: chat_worker_done(app), what="the stopped turn's worker to end")
        await caught_up(pilot, app.chat)  # and every event it posted before it ended has been handled
        assert reply.text == kept  # nothing more arrived after Esc
        assert 0 < kept.count("word") < 400
        assert online.completed_streams == 0
        assert app.session.conversation.messages[-1]["content"][0]["text"] == kept


async def test_without_an_api_key_the_app_works_and_says_what_to_set(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.chat.connection is not None)
        await wait_for(pilot, lambda: "app" in tree_labels(app))
        warning = " ".join(text_of(n) for n in app.query(Note))
        assert "ANTHROPIC_API_KEY" in warning and "ANTHROPIC_BASE_URL" in warning and "Ollama" in warning
        await submit(pilot, app, "is this safe?")
        assert app.chat.prompt.input.value == "is this safe?"  # the question is not lost
        assert not app.query(UserMessage)
        app.chat.prompt.input.value = ""
        await pilot.press("/")
        await pilot.pause()
        assert app.query_one(CommandMenu).display  # commands still work
        await open_folder(pilot, app, "app")
        await select_file(pilot, app, "models.py")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 1)


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (HttpError(401, "authentication_error", "invalid x-api-key"), "rejected the credentials (401)"),
        (HttpError(529, "overloaded_error", "Overloaded"), "overloaded right now (529)"),
        (HttpError(429, "rate_limit_error", "slow down", retry_after=30), "Try again in 30 s"),
    ],
)
async def test_api_errors_show_in_chat_and_keep_the_question(
    project: Path, online: FakeAnthropic, script: HttpError, words: str
) -> None:
    online.queue(script)
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await attach_models_py(pilot, app)
        await submit(pilot, app, "review these models")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        assert words in status(replies(app)[0])
        assert app.chat.prompt.input.value == "review these models"
        assert [c.attachment.path for c in app.query(Chip)] == ["app/models.py"]
        assert app.session.conversation.messages == []
        assert app.is_running


async def test_binary_and_huge_files_in_the_preview(project: Path, online: FakeAnthropic) -> None:
    with (project / "dump.sql").open("w") as handle:
        handle.write("INSERT INTO t VALUES (1);\n" * 400_000)  # about 10 MB
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: "logo.png" in tree_labels(app))
        preview = app.query_one(FilePreview)
        preview.show(project / "logo.png")
        await wait_for(pilot, lambda: "binary file" in str(preview.border_subtitle))
        assert preview.render_line(0).text.strip() == "logo.png is a binary file (16 B)"
        preview.show(project / "dump.sql")
        await wait_for(pilot, lambda: "Showing the first" in str(preview.border_subtitle), timeout=15)
        assert 0 < preview.line_count <= 3_000
        assert preview.render_line(0).text.startswith("    1 │ INSERT INTO t VALUES (1);")
        # The app answers keys while (and after) the big file is shown.
        await pilot.press("x")
        assert app.chat.prompt.input.value == "x"


async def test_secrets_file_needs_explicit_consent(project: Path, online: FakeAnthropic) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: ".env" in tree_labels(app))
        await select_file(pilot, app, ".env")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        assert ".env" in text_of(app.screen.query_one("#dialog-title", Static))
        await choose(pilot, "no")
        await pilot.pause()
        assert not app.query(Chip)
        await select_file(pilot, app, ".env")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        await choose(pilot, "yes")
        await wait_for(pilot, lambda: len(app.query(Chip)) == 1)
        # An @mention of a secrets file asks too, and "no" leaves it out of the request.
        app.chat.prompt.take_attachments()
        online.queue(Reply(["ok"]))
        await submit(pilot, app, "check @.env and @app/models.py")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen) and app.screen.query("#dialog-title"))
        await choose(pilot, "no")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        body = json.dumps(online.message_requests()[0].body)
        assert "app/models.py" in body and "DATABASE_URL" not in body


async def test_help_and_clear(project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["first"]))
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await submit(pilot, app, "/help")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        help_text = app.screen.query_one(Markdown).source
        assert "/buddy:review" in help_text and "| Ctrl+Q | Quit |" in help_text and "/clear" in help_text
        assert "| History (/resume) | Enter, F2, F8, F4, Esc |" in help_text  # other screens' keys too
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="help to close")
        await submit(pilot, app, "hello")
        await wait_for(pilot, lambda: replies(app) and settled(app))
        assert len(app.session.conversation.messages) == 2
        await submit(pilot, app, "/clear")
        await pilot.pause()
        assert app.session.conversation.messages == [] and not replies(app)


async def test_text_from_files_names_and_model_is_shown_literally(tmp_path: Path, online: FakeAnthropic) -> None:
    root = make_project(tmp_path / "p")
    (root / "[red]boom[-].py").write_text("x = '[bold]not markup[/bold]'\n")
    online.queue(Reply(["[b]still literal[/b] \x1b[2J done"]))
    app = make_app(root)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await wait_for(pilot, lambda: "[red]boom[-].py" in tree_labels(app))
        await submit(pilot, app, "[bold]question[/bold]")
        await wait_for(pilot, lambda: replies(app) and settled(app))
        assert text_of(app.query_one(UserMessage).query_one(".body", Static)) == "[bold]question[/bold]"
        view = replies(app)[0].query_one(ReplyView)
        assert "[b]still literal[/b]" in view.source and "\x1b" not in view.source and "␛[2J" in view.source
        drawn = "\n".join(view.shown_lines)  # as drawn: no markup read, no escape sent
        assert "[b]still literal[/b]" in drawn and "␛[2J done" in drawn


async def test_quit_with_ctrl_q(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_code == 0
