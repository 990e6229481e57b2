"""Agent panels in the chat: the engine's agent events, posted as the chat pane receives them,
draw a panel under the Task call's tool line with a live status; finished panels fold and open
with Enter or a click; Esc marks unfinished ones interrupted; a stored turn shows its agents again."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from buddy_tui.conversation.engine import Engine, EngineEvent, Question, TurnStarted
from buddy_tui.conversation.events import (
    AgentEnded,
    AgentStarted,
    AgentStatus,
    AgentUpdate,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from buddy_tui.conversation.session import TurnPlan
from buddy_tui.personas.persona import Persona
from buddy_tui.store.records import AgentRecord, ToolNote, TurnRecord, Usage
from buddy_tui.tools.asking import ChangeRequest
from buddy_tui.tools.specs import ToolCall, ToolResult
from buddy_tui.ui.app import BuddyApp
from buddy_tui.ui.screens.approval import ApprovalScreen
from buddy_tui.ui.widgets.agent_panel import AgentPanel, AgentTail, AgentTitle, AgentWindow, colour_style
from buddy_tui.ui.widgets.chat_pane import ChatPane
from buddy_tui.ui.widgets.markdown_note import MarkdownNote
from buddy_tui.ui.widgets.tool_line import ToolLine, describe_call
from buddy_tui.ui.widgets.transcript import AssistantMessage, Note
from tests.fake_api import FakeAnthropic, Reply, ToolUse
from tests.helpers import caught_up, click, connected, make_app, settled, submit, text_of, wait_for

TASK = ToolCall("toolu_sec", "Task", {"description": "check auth for injection", "prompt": "Look at app/",
                                      "subagent_type": "security"})
GREP = ToolCall("toolu_grep", "Grep", {"pattern": "SELECT"})


def started(call: ToolCall = TASK, title: str = "Security", color: str = "red", queued: bool = False) -> AgentStarted:
    return AgentStarted(call.id, title.lower(), title, color, str(call.input["description"]), "Look at app/",
                        "claude-sonnet", ("Read", "Grep"), queued=queued)


async def begin_turn(pilot: Pilot[None], app: BuddyApp, typed: str = "review app/") -> AssistantMessage:
    """Start a turn in the chat as the engine does (TurnStarted), without a model."""
    chat = app.chat
    plan = chat.engine.interpret(typed, [])
    assert isinstance(plan, TurnPlan)
    record = TurnRecord(typed, plan.persona.name, plan.persona.title, plan.model)
    await send(pilot, app, TurnStarted(Question(plan), record, ()))
    assert chat.turn is not None
    return chat.turn.view


async def send(pilot: Pilot[None], app: BuddyApp, *events: EngineEvent) -> None:
    """Post engine events to the chat pane, as its worker does, and wait until they are drawn."""
    chat = app.chat
    for event in events:
        chat.post_message(ChatPane.TurnEvent(chat._runs, event))
    await caught_up(pilot, chat)
    for view in chat.query(AssistantMessage):
        await view.drain()
        for panel in view.panels:
            await panel.body.drain()


def status_of(panel: AgentPanel) -> str:
    return panel.header_text.split(" · ", 1)[1]


async def test_a_panel_streams_under_its_task_line_and_folds_when_done(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        await send(pilot, app, TextDelta("Asking the security expert."), ToolStarted(TASK, 1, 12))
        await send(pilot, app, started(queued=True))
        panel = view.query_one(AgentPanel)
        line = view.query_one(ToolLine)
        assert view.children.index(panel) == view.children.index(line) + 1  # right under the Task line
        assert status_of(panel) == "queued"
        assert panel.header_text.startswith("Security  check auth for injection")
        assert colour_style("red") == "bold #e5534b"  # the name in its front-matter colour
        assert "bold #e5534b" in {str(span.style) for span in panel._label().spans}

        await send(pilot, app, started(), AgentUpdate(TASK.id, TextDelta("## Findings\n\nSQL built ")))
        assert status_of(panel) == "streaming…"
        await send(pilot, app, AgentUpdate(TASK.id, ToolStarted(GREP, 1, 8)))
        assert status_of(panel) == "running Grep…"
        assert panel._tail.source == "## Findings\n\nSQL built "  # while it runs: its last lines
        await send(pilot, app, AgentStatus(TASK.id, "waiting for approval"))
        assert status_of(panel) == "waiting for approval"
        await send(pilot, app, AgentStatus(TASK.id, "running"),
                   AgentUpdate(TASK.id, ToolFinished(GREP, ToolResult("app/models.py:13", summary="Grep · 1 match"))),
                   AgentUpdate(TASK.id, TextDelta("from strings.")))
        assert status_of(panel) == "streaming…"
        assert not panel.folded and panel._tail.display and not panel.query_one(AgentWindow).display
        assert panel._tail.region.height == 3 and panel.body.text == ""  # the whole reply is drawn when shown
        edit = ToolCall("toolu_edit", "Edit", {"path": "app/models.py"})
        app.chat.runner.changes[edit.id] = None  # type: ignore[assignment]  # the runner made this change
        await send(pilot, app, AgentUpdate(TASK.id, ToolStarted(edit, 2, 8)),
                   AgentUpdate(TASK.id, ToolFinished(edit, ToolResult("ok", summary="Edit app/models.py"))))

        await send(pilot, app, AgentEnded(TASK.id, "done", "## Findings\n\nSQL built from strings.",
                                          Usage(3_100, 640), 12.3))
        assert status_of(panel) == "done in 12 s · in 3.1k out 640"
        await wait_for(pilot, lambda: panel.folded, what="the finished panel folded (its end in sight a moment first)")
        await pilot.pause()
        assert panel.body.region.height == 0 and panel.region.height == 1  # one line: the header
        await panel.fold(False)  # opened: the whole reply, its tool lines where they happened
        await pilot.pause()
        assert panel.body.text == "## Findings\n\nSQL built from strings."
        assert [line.call for line in panel.body.query(ToolLine)] == [GREP, edit]
        assert panel.body.query("UndoButton")  # an agent's change can be undone from its line too
        await panel.fold(True)
        await pilot.pause()

        # The lead's text after the Task result goes under the panel.
        await send(pilot, app, ToolFinished(TASK, ToolResult("SQL built from strings.")),
                   TextDelta("The expert found one issue."))
        last_text = view._segments[-1].widget
        assert view.children.index(panel) < view.children.index(last_text)


async def test_several_agents_streaming_at_once_all_stay_in_sight(project: Path) -> None:
    """While it runs, a panel is a few lines high and shows the end of its reply; opened again
    once done, it is as tall as the reply."""
    app = make_app(project)
    long = "".join(f"Line {n} of the findings.\n\n" for n in range(60))
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        await send(pilot, app, ToolStarted(TASK, 1, 12), started(), AgentUpdate(TASK.id, TextDelta(long)))
        panel = view.panels[0]
        window, tail = panel.query_one(AgentWindow), panel._tail
        await wait_for(pilot, lambda: tail.size.height == AgentTail.ROWS, what="the tail laid out")
        assert panel.region.height <= AgentTail.ROWS + 2 and not window.display  # header and a few lines
        shown = [tail.render_line(y).text.strip() for y in range(AgentTail.ROWS)]
        assert shown[-1] == "Line 59 of the findings."  # the end of the reply
        await send(pilot, app, AgentUpdate(TASK.id, TextDelta("One more line.\n")))
        assert [tail.render_line(y).text.strip() for y in range(AgentTail.ROWS)][-1] == "One more line."
        await send(pilot, app, AgentEnded(TASK.id, "done", long + "One more line.\n", Usage(), 4.0))
        await wait_for(pilot, lambda: panel.folded, what="the finished panel folded")
        await panel.fold(False)
        await wait_for(pilot, lambda: window.outer_size.height > 60, what="the whole reply")


async def test_enter_and_a_click_on_the_header_open_and_close_a_finished_panel(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        await send(pilot, app, ToolStarted(TASK, 1, 12), started(), AgentUpdate(TASK.id, TextDelta("One finding.")),
                   AgentEnded(TASK.id, "done", "One finding.", Usage(10, 5), 2.0))
        panel = view.query_one(AgentPanel)
        await wait_for(pilot, lambda: panel.folded, what="the finished panel folded")
        await click(pilot, panel.query_one(AgentTitle))
        await wait_for(pilot, lambda: not panel.folded and panel.body.region.height > 0, what="the panel open")
        assert "One finding." in "\n".join(panel.body.query("ReplyView").first().shown_lines)  # type: ignore[attr-defined]

        # From the keyboard: from the prompt, Ctrl+G onto the chat's items, to the panel's header, Enter.
        app.action_focus_prompt()
        await pilot.press("ctrl+g")
        transcript = app.chat.transcript
        await wait_for(pilot, lambda: app.focused is not None and transcript in app.focused.ancestors,
                       what="an item of the chat focused")
        for _ in range(8):
            if app.focused is panel.query_one(AgentTitle):
                break
            await pilot.press("up")
        assert app.focused is panel.query_one(AgentTitle)
        await pilot.press("enter")
        await wait_for(pilot, lambda: panel.folded, what="the panel folded by Enter")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not panel.folded, what="the panel opened by Enter")


async def test_esc_marks_every_unfinished_panel_interrupted(project: Path) -> None:
    app = make_app(project)
    other = ToolCall("toolu_perf", "Task", {"description": "profile the queries", "prompt": "p",
                                            "subagent_type": "performance"})
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        await send(pilot, app, ToolStarted(TASK, 1, 12), started(), ToolStarted(other, 1, 12),
                   started(other, "Performance", "green"), AgentUpdate(TASK.id, TextDelta("Half an answ")),
                   AgentEnded(other.id, "failed", "", Usage(5, 0), 1.0, why="overloaded (529)"))
        security, performance = view.panels
        assert status_of(performance) == "failed: overloaded (529)"
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.chat.busy, what="the stop")
        assert status_of(security) == "interrupted"
        assert security.body.text == "Half an answ"  # what arrived is kept
        assert status_of(performance) == "failed: overloaded (529)"  # a finished one keeps its ending
        # A late event of the stopped run changes nothing.
        await send(pilot, app, AgentEnded(TASK.id, "done", "x", Usage(), 1.0))
        assert status_of(security) == "interrupted"


async def test_a_turn_that_ends_with_an_agent_still_running_says_interrupted(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        other = ToolCall("toolu_perf", "Task", {"description": "profile", "prompt": "p"})
        await send(pilot, app, ToolStarted(TASK, 1, 12), started(), ToolStarted(other, 1, 12),
                   started(other, "Performance"), AgentEnded(other.id, "done", "ok", Usage(3_100, 640), 5.0))
        await view.end(TurnFinished("done", "end_turn", Usage(1_000, 100)), project, usage=Usage(4_100, 740))
        assert status_of(view.panels[0]) == "interrupted"
        assert text_of(view.query_one(".status", Static)) == "in 4,100 · out 740"  # as stored: agents included


def stored_turn(state: str = "complete", agent_state: str = "done") -> TurnRecord:
    return TurnRecord(
        "review app/", "backend", "Backend", "claude-sonnet", reply="Asking.The expert agrees.",
        tools=[ToolNote(TASK.id, "Task", TASK.input, "Task · security", offset=7)], state=state,  # type: ignore[arg-type]
        usage=Usage(5_000, 900),
        agents=[AgentRecord(TASK.id, "security", "Security", "red", "check auth for injection", "Look", "m",
                            reply="SQL built [bold]from[/] strings.", state=agent_state,  # type: ignore[arg-type]
                            tools=[ToolNote(GREP.id, "Grep", GREP.input, "Grep · 1 match", offset=4)],
                            usage=Usage(3_100, 640), seconds=12.0)])


async def test_a_stored_turn_shows_its_agents_folded_under_their_task_notes(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = AssistantMessage("Backend", record=stored_turn())
        await app.chat.add(view)
        await wait_for(pilot, lambda: view.panels, what="the restored panel")
        panel = view.panels[0]
        note = next(w for w in view.children if isinstance(w, Static) and w.has_class("tool-note"))
        assert view.children.index(panel) == view.children.index(note) + 1
        assert panel.folded and status_of(panel) == "done in 12 s · in 3.1k out 640"
        await click(pilot, panel.query_one(AgentTitle))
        await wait_for(pilot, lambda: not panel.folded and panel.body.query("ReplyView"), what="the body drawn")
        shown = [w for w in panel.body.children]
        assert shown[1].has_class("tool-note")  # its text, its Grep, its text, in order
        assert "[bold]from[/]" in "\n".join(panel.body.query("ReplyView").last().shown_lines)  # type: ignore[attr-defined]


async def test_an_agent_running_in_a_stored_turn_that_ended_was_interrupted(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = AssistantMessage("Backend", record=stored_turn("interrupted", "running"))
        await app.chat.add(view)
        await wait_for(pilot, lambda: view.panels, what="the restored panel")
        assert status_of(view.panels[0]) == "interrupted"


async def test_a_colour_is_never_read_as_markup(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        view = await begin_turn(pilot, app)
        evil = AgentStarted(TASK.id, "x", "[red]X[/red]", "bold red on white]", "[b]desc[/b]", "p", "m", ())
        await send(pilot, app, ToolStarted(TASK, 1, 12), evil)
        panel = view.panels[0]
        assert panel.header_text.startswith("[red]X[/red]  [b]desc[/b] · ")
        assert colour_style("bold red on white]") == "bold $text-accent"  # an unknown colour: neutral


async def test_cost_splits_the_tokens_between_the_lead_and_each_agent(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        first, last = stored_turn(), stored_turn()
        first.usage = Usage(1_000, 100)  # a turn without agents
        first.agents = []
        app.chat.session.turns.extend([first, last])
        app.chat.session.conversation.usage = first.usage + last.usage
        app.chat.post_message(ChatPane.AppCommand("cost", ""))
        await wait_for(pilot, lambda: app.query(MarkdownNote), what="the /cost table")
        table = app.query(MarkdownNote).last().source
        lines = table.splitlines()
        assert "| Last turn | 5,000 | 900 | 0 | 0 |" in lines
        assert "| · lead | 1,900 | 260 | 0 | 0 |" in lines  # the turn's total less the agent's share
        assert "| · Security (agent) | 3,100 | 640 | 0 | 0 |" in lines
        whole = lines.index("| Conversation (2 turns) | 6,000 | 1,000 | 0 | 0 |")
        assert "| · lead | 2,900 | 360 | 0 | 0 |" in lines[whole:]


async def test_an_agents_approval_and_secrets_questions_name_it(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        change = ChangeRequest("Edit", "app/x.py", "-a\n+b\n", sensitive=False, agent="Security")
        app.push_screen(ApprovalScreen(change, guard=0))
        await wait_for(pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.query("#dialog-title"),
                       what="the approval dialog")
        assert text_of(app.screen.query_one("#dialog-title", Static)).startswith(
            "Security agent wants to change app/x.py (Edit)")
        app.screen.dismiss(None)
        await wait_for(pilot, lambda: not isinstance(app.screen, ApprovalScreen), what="the dialog closed")

        asked = asyncio.create_task(app.chat.engine.asker.allow_secrets_file("Read", ".env", "read",
                                                                               agent="Security"))
        await wait_for(pilot, lambda: app.screen.query("#dialog-title"), what="the secrets question")
        assert text_of(app.screen.query_one("#dialog-title", Static)) == "Let Security agent read .env?"
        await pilot.press("escape")
        assert await asked is False


async def test_consult_runs_one_expert_with_the_attachments_and_keeps_its_panel_open(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(project)
    runs: list[Question] = []
    asked: list[tuple[str, str]] = []

    def consultation(engine: Engine, name: str, text: str) -> Question | str:
        asked.append((name, text))
        if name != "security":
            return f"No expert called '{name}'."
        plan = engine.interpret(text, [])
        assert isinstance(plan, TurnPlan)
        return Question(plan)

    monkeypatch.setattr(Engine, "consultation", consultation, raising=False)
    monkeypatch.setattr(ChatPane, "_engine_worker", lambda self, run_id, question: runs.append(question))
    monkeypatch.setattr(ChatPane, "client", property(lambda self: object()))  # connected
    async with app.run_test(size=(140, 40)) as pilot:
        chat = app.chat
        chat.post_message(ChatPane.AppCommand("consult", ""))
        await wait_for(pilot, lambda: any("Usage: /consult" in text_of(n) for n in app.query(Note)), what="usage")
        usage = next(text_of(n) for n in app.query(Note) if "Usage: /consult" in text_of(n))
        assert all(p.name in usage for p in chat.session.personas)

        chat.post_message(ChatPane.AppCommand("consult", "nobody hello"))
        await wait_for(pilot, lambda: any("No expert called" in text_of(n) for n in app.query(Note)),
                       what="the engine's refusal")

        chat.attach(project / "app" / "models.py")
        await wait_for(pilot, lambda: chat.prompt.attachments, what="the file attached")
        chat.post_message(ChatPane.AppCommand("consult", "security  is this query safe?"))
        await wait_for(pilot, lambda: runs, what="the consultation sent")
        assert asked[-1] == ("security", "is this query safe?")
        assert [a.key for a in runs[0].chips] == ["app/models.py"] and not chat.prompt.attachments

        record = TurnRecord("is this query safe?", "backend", "Backend", "m")
        await send(pilot, app, TurnStarted(runs[0], record, ()), started())  # no Task line: asked directly
        view = chat.query_one(AssistantMessage)
        assert text_of(view.query_one(".status", Static)).startswith("Security answers in the panel above")
        await send(pilot, app, AgentUpdate(TASK.id, TextDelta("It is not.")),
                   AgentEnded(TASK.id, "done", "It is not.", Usage(), 3))
        panel = chat.query_one(AgentPanel)
        assert panel.finished and not panel.folded  # a consultation's answer stays open, all of it
        assert panel._fold_timer is None and not panel.has_class("-live")
        assert view.text == "It is not."  # what the copy link and /copy take


async def test_persona_command_says_the_choice_is_pinned_and_how_to_unpin(project: Path) -> None:
    app = make_app(project)
    async with app.run_test(size=(140, 40)) as pilot:
        app.chat.session.pinned = False
        monkey = app.chat.session

        def switch(name: str) -> Persona | None:  # as Session.switch does once it pins
            persona = monkey.find_persona(name)
            if persona is not None:
                monkey.current, monkey.pinned = persona, True
            return persona

        monkey.switch = switch  # type: ignore[method-assign]
        app.chat.post_message(ChatPane.AppCommand("persona", "security"))
        await wait_for(pilot, lambda: any("pinned for this conversation" in text_of(n) for n in app.query(Note)),
                       what="the note")
        note = next(text_of(n) for n in app.query(Note) if "pinned for this conversation" in text_of(n))
        assert "F3 or /pin unpins it" in note
        assert "📌 pinned" in text_of(app.chat.query_one("#persona-name", Static))


REVIEWER = """---
name: reviewer
description: Reviews code for problems.
color: purple
tools: Read, Grep
---
REVIEWER-MARKER You review code and report what is wrong, with path:line.
"""
REVIEW_COMMAND = """---
description: Review code with the reviewer agent
---
Use the Task tool to launch the reviewer agent (subagent_type reviewer) on $ARGUMENTS, then sum up.
"""


async def test_through_the_engine_a_task_call_streams_its_agent_in_a_panel_that_then_folds(
        project: Path, online: FakeAnthropic) -> None:
    """The real engine and SDK against the fake server: a project command tells the lead to use
    the Task tool, the lead calls it, the agent's reply streams into its panel under the Task
    line, and the panel folds once the agent is done."""
    (project / ".claude" / "agents").mkdir(parents=True)
    (project / ".claude" / "agents" / "reviewer.md").write_text(REVIEWER)
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "commands" / "review.md").write_text(REVIEW_COMMAND)
    findings = "## Findings\n\nThe SQL in app/models.py:13 is built with `%`: an injection risk."
    gate, held = threading.Event(), threading.Event()

    def hold(index: int, total: int) -> None:
        if index == 2 and not held.is_set():  # the agent's stream pauses after its first chunks
            held.set()
            gate.wait(20)

    online.on_chunk = hold
    online.route(lambda body: "REVIEWER-MARKER" in json.dumps(body.get("system")), Reply.of(findings, size=8))
    online.route(lambda body: "REVIEWER-MARKER" not in json.dumps(body.get("system")),
                 Reply([], tools=[ToolUse("toolu_rev", "Task", {"description": "look for problems",
                                                                "prompt": "Review app/models.py",
                                                                "subagent_type": "reviewer"})]),
                 Reply.of("The reviewer found one problem: app/models.py:13.", size=8))
    app = make_app(project, persona="backend")
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await connected(pilot, app)
            await submit(pilot, app, "/review app/models.py")
            await wait_for(pilot, lambda: app.query(AgentPanel), what="the agent's panel")
            panel = app.query_one(AgentPanel)
            view = app.query_one(AssistantMessage)
            line = next(t for t in view.query(ToolLine) if t.call.id == "toolu_rev")
            assert view.children.index(panel) == view.children.index(line) + 1
            assert panel.header_text.startswith("reviewer  look for problems") or \
                panel.header_text.startswith("Reviewer  look for problems")
            await wait_for(pilot, lambda: held.is_set() and panel._tail.source == findings[:24],
                           what="the agent's first text in its panel")  # three chunks: the fourth is held
            assert status_of(panel) == "streaming…" and not panel.folded and app.chat.busy
            gate.set()
            await wait_for(pilot, lambda: settled(app), what="the turn's end")
            await wait_for(pilot, lambda: panel.folded, what="the panel folded")
            assert status_of(panel).startswith("done in ")
            await panel.fold(False)
            assert panel.body.text == findings
            assert view.text.endswith("The reviewer found one problem: app/models.py:13.")
            assert [a.state for a in app.chat.session.turns[-1].agents] == ["done"]
    finally:
        gate.set()


def test_a_task_call_is_described_by_its_agent_and_task() -> None:
    assert describe_call(TASK) == "Task security: check auth for injection"
    assert describe_call(ToolCall("t", "Task", {})) == "Task"
