"""Personas and commands as data, in the app: auto-activation shown before sending, switching,
pinning, the problems view, project commands and project memory."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Markdown, Static

from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.help import HelpScreen
from buddy_tui.ui.screens.problems import ProblemsScreen
from buddy_tui.ui.widgets.markdown_note import MarkdownNote
from buddy_tui.ui.widgets.prompt import CommandMenu
from buddy_tui.ui.widgets.transcript import AssistantMessage, Greeting, Note
from tests.fake_api import FakeAnthropic, Reply
from tests.helpers import connected, make_app, settled, text_of, wait_for


def activation(app: BuddyApp) -> str:
    line = app.query_one("#activation", Static)
    return text_of(line) if line.display else ""


def header(app: BuddyApp) -> str:
    return text_of(app.query_one("#persona-name", Static))


async def test_the_chosen_expert_is_shown_before_sending_and_answers(
    claude_project: Path, online: FakeAnthropic
) -> None:
    online.queue(Reply(["Use a parameterised query."]))
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        assert header(app) == "● Backend"
        await pilot.press(*"is the login form open to sql injection?")
        await wait_for(pilot, lambda: "Security takes over" in activation(app), what="the suggestion")
        assert "security 9" in activation(app) and "'injection'" in activation(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        body = online.message_requests()[0].body
        assert body is not None and body["system"][0]["text"] == app.session.catalog.personas["security"].prompt
        reply = app.query(AssistantMessage).last()
        assert reply.author == "Security" and reply.why.startswith("security 9")
        assert header(app) == "● Security"
        # A question with no signal keeps whoever answered last.
        await pilot.press(*"thanks, anything else?")
        await wait_for(pilot, lambda: "no signal" in activation(app))
        assert activation(app).startswith("→ Security")


async def test_f2_picks_another_expert_and_f3_pins(claude_project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["one"]), Reply(["two"]))
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await pilot.press(*"the deploy pipeline leaks a secret")
        await wait_for(pilot, lambda: "takes over" in activation(app))
        first = activation(app)
        await pilot.press("f2")
        assert "your pick" in activation(app) and activation(app) != first
        picked = app.chat.override
        assert picked is not None
        await pilot.press("enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        assert app.query(AssistantMessage).last().author == picked.title
        # The person's pick stays for the conversation, as a pin does.
        assert "📌 pinned" in header(app) and app.session.current == picked
        app.chat.prompt.input.value = "the p99 latency doubled"
        await pilot.pause()
        assert "pinned" in activation(app) and activation(app).startswith(f"→ {picked.title}")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(online.message_requests()) == 2 and settled(app))
        assert app.query(AssistantMessage).last().author == picked.title
        await pilot.press(*"is this vulnerable to XSS?")
        await pilot.press("f3")  # unpinned: the best expert is chosen again
        await pilot.pause()
        assert "pinned" not in header(app) and not app.session.pinned
        assert activation(app).startswith("→ Security")


async def test_persona_command_lists_and_switches(claude_project: Path) -> None:
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        app.chat.prompt.input.value = "/persona"
        await pilot.press("enter")
        await pilot.pause()
        listing = app.query(MarkdownNote).last().source
        for name in ("backend", "security", "performance", "devops", "api-reviewer", "db-tuner",
                     "migration-planner", "incident-commander"):
            assert f"**{name}**" in listing
        app.chat.prompt.input.value = "/persona k8s-expert"
        await pilot.press("enter")
        await pilot.pause()
        assert header(app) == "● K8s Expert  📌 pinned"  # the person's choice stays for the conversation
        assert app.query_one("#persona-name", Static).tooltip is not None
        notes = [text_of(n) for n in app.query(Note)]
        assert any(n.startswith("K8s Expert answers from now on") for n in notes)
        app.chat.prompt.input.value = "/persona nobody"
        await pilot.press("enter")
        await pilot.pause()
        assert "No persona called 'nobody'" in text_of(app.query(Note).last())


async def test_startup_reports_overrides_problems_and_memory(claude_project: Path) -> None:
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.query(Greeting), what="the greeting")
        welcome = app.query_one(Greeting).source
        assert "Project memory in the system prompt: CLAUDE.md (" in welcome
        notes = [text_of(n) for n in app.query(Note)]
        assert "Project persona 'backend' (.buddy/personas/backend.md) overrides the bundled one (buddy-tui's " \
               "personas/backend.md)." in notes
        problem_note = "4 project file(s) (personas, commands, memory, manifests) could not be used"
        assert any(n.startswith(problem_note) for n in notes)
        app.chat.prompt.input.value = "/problems"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ProblemsScreen) and app.screen.query(DataTable))
        table = app.screen.query_one(DataTable)
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        files = {Path(row[1]).name: row for row in rows}
        assert files["half-written.md"][2:4] == ["1", "not loaded"] and "never closed" in files["half-written.md"][4]
        assert {"SKILL.md", "broken.md", "help.md"} <= set(files)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProblemsScreen)


async def test_project_commands_complete_with_their_source(claude_project: Path, online: FakeAnthropic) -> None:
    online.queue(Reply(["Roll back first."]))
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await connected(pilot, app)
        await pilot.press("/", "d", "e", "p")
        await pilot.pause()
        menu = app.query_one(CommandMenu)
        first = menu.get_option_at_index(0)
        assert first.id == "deploy"
        assert "[environment] [version]" in str(first.prompt) and "(project)" in str(first.prompt)
        await pilot.press("tab", *"staging 2.0", "enter")
        await wait_for(pilot, lambda: online.message_requests() and settled(app))
        body = online.message_requests()[0].body
        assert body is not None
        assert body["system"][0]["text"] == app.session.catalog.personas["devops"].prompt
        documents = body["messages"][0]["content"][0]["text"]
        assert "<source>docs/runbook.md</source>" in documents
        assert body["messages"][0]["content"][-1]["text"].startswith("Plan the deployment of version 2.0")


async def test_help_lists_personas_and_commands_with_their_source(claude_project: Path) -> None:
    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        page = app.screen.query_one(Markdown).source
        assert "| /deploy \\[environment\\] \\[version\\] | Plan a deployment to an environment |" in page
        assert ".claude/commands/deploy.md" in page
        assert "| db-tuner |" in page and ".claude/agents/db-tuner.md" in page
        assert "| backend (current) |" in page and ".buddy/personas/backend.md" in page


async def test_command_palette_offers_every_persona(claude_project: Path) -> None:
    from buddy_tui.ui.palette import PersonaCommands

    app = make_app(claude_project)
    async with app.run_test(size=(160, 48)) as pilot:
        provider = PersonaCommands(app.screen)
        hits = [hit async for hit in provider.search("persona devops")]
        assert hits and "Persona: devops" in str(hits[0].prompt)
        assert hits[0].help is not None and hits[0].help.startswith("bundled: A platform and release engineer")
        hits[0].command()
        await wait_for(pilot, lambda: header(app) == "● DevOps  📌 pinned")  # chosen: it stays
        discovered = [str(hit.prompt) async for hit in provider.discover()]
        assert any("Persona: db-tuner" in d for d in discovered) and "Show problems" in discovered
