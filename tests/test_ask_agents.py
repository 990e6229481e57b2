"""Agents in ``buddy-tui ask``: one stderr line when each starts and one when it ends, json events
for them and an ``agent`` field on tool events, agents' text kept off stdout in the text formats,
their edits named, and the flags answering an agent's questions as they answer the lead's.

Most tests feed the :class:`~buddy_tui.headless.narrate.Narrator` synthetic engine streams; one
runs the whole command with the engine's stream replaced, to prove the driver is wired to it.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.conversation.engine import Engine, Question, TurnStarted
from buddy_tui.conversation.events import (
    AgentEnded,
    AgentStarted,
    AgentStatus,
    AgentUpdate,
    Counted,
    Retrying,
    RoundDone,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from buddy_tui.conversation.retries import RetryNotice
from buddy_tui.headless.asker import FlagAsker, offered_tools
from buddy_tui.headless.narrate import Narrator, tokens_text
from buddy_tui.headless.output import JsonOutput, Reporter, TextOutput, make_output
from buddy_tui.store.export import export_markdown
from buddy_tui.store.records import ConversationSummary, StoredConversation, TurnRecord, Usage
from buddy_tui.tools.asking import Approval, ChangeRequest, Declined
from buddy_tui.tools.specs import ToolCall, ToolResult
from buddy_tui.tools.workspace import ProposedChange
from tests.fake_api import FakeAnthropic, HttpError, Reply, ToolUse
from tests.helpers import MODELS_PY, make_project
from tests.test_ask import ask, stored_turns, terminal_stdin  # noqa: F401 (an autouse fixture)

TASK_SEC = ToolCall("toolu_sec", "Task", {"description": "Check auth paths", "prompt": "Look at auth",
                                          "subagent_type": "security"})
TASK_PERF = ToolCall("toolu_perf", "Task", {"description": "Query costs", "prompt": "N+1?",
                                            "subagent_type": "performance"})
SEC = AgentStarted("toolu_sec", "security", "Security Persona", "red", "Check auth paths", "Look at auth",
                   "claude-opus-test", ("Read", "Grep"))
PERF = AgentStarted("toolu_perf", "performance", "Performance Persona", "", "Query costs", "N+1?", "claude-test",
                    ("Read",))
SEC_READ = ToolCall("s1", "Read", {"path": "app/auth.py"})
PERF_EDIT = ToolCall("p1", "Edit", {"path": "app/models.py", "old_string": "a", "new_string": "b"})


def two_agents() -> list[object]:
    """A lead that launches two agents at once (security finishes, performance fails), with the
    agents' events interleaved as concurrent runs produce them, then answers."""
    return [
        Counted(Usage(100, 0)),
        TextDelta("Asking the experts."),
        ToolStarted(TASK_SEC, 1, 8), ToolStarted(TASK_PERF, 1, 8),
        replace(SEC, queued=True),  # more agents than may run at once: it waits, then starts
        SEC, PERF,
        AgentUpdate("toolu_sec", TextDelta("Reading auth. ")),
        AgentUpdate("toolu_perf", TextDelta("Looking at the ORM")),
        AgentUpdate("toolu_sec", ToolStarted(SEC_READ, 1, 8)),
        AgentUpdate("toolu_sec", Counted(Usage(3100, 0))),
        AgentUpdate("toolu_perf", ToolStarted(PERF_EDIT, 1, 8)),
        AgentStatus("toolu_perf", "waiting for approval"),
        AgentUpdate("toolu_sec", ToolFinished(SEC_READ, ToolResult("...", summary="Read app/auth.py · 40 lines"))),
        AgentUpdate("toolu_perf", ToolFinished(PERF_EDIT, ToolResult("ok", summary="Edit app/models.py · 1 line"))),
        AgentUpdate("toolu_perf", Retrying(RetryNotice("overloaded (529)", 2.0, 2, 3, False))),
        AgentUpdate("toolu_sec", TextDelta("Line 12 builds SQL.")),
        AgentEnded("toolu_sec", "done", "Reading auth. Line 12 builds SQL.", Usage(3100, 640), 12.4),
        ToolFinished(TASK_SEC, ToolResult("Reading auth. Line 12 builds SQL.", summary="security: done")),
        AgentEnded("toolu_perf", "failed", "Looking at the ORM", Usage(800, 41, estimated=True), 3.0,
                   "overloaded (529)"),
        ToolFinished(TASK_PERF, ToolResult("failed", is_error=True, summary="performance: failed")),
        RoundDone(()),
        TextDelta("Line 12 of app/auth.py builds SQL."),
        Counted(Usage(5000, 900), reported=True),
    ]


def narrate(events: Sequence[object], out: Any, quiet: bool = False,
            changes: dict[str, ProposedChange] | None = None) -> str:
    """Feed ``events`` to a Narrator writing to ``out``; what stderr got."""
    err = io.StringIO()
    narrator = Narrator(out, Reporter(err, quiet), (changes or {}).get)
    assert all(narrator.take(event) for event in events)
    return err.getvalue()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stderr_has_one_line_as_each_agent_starts_and_ends_and_its_tool_lines() -> None:
    edit = ProposedChange("app/models.py", "a", "b", "", None)
    err = narrate(two_agents(), TextOutput(io.StringIO()), changes={"p1": edit})
    assert err.splitlines() == [
        "buddy-tui: ▸ agent security (Check auth paths) started · claude-opus-test",  # once, not when queued
        "buddy-tui: ▸ agent performance (Query costs) started · claude-test",
        "buddy-tui: agent security: Read app/auth.py · 40 lines",
        "buddy-tui: agent performance: Edit app/models.py · 1 line",
        "buddy-tui: edited app/models.py (by agent performance)",
        "buddy-tui: agent performance: overloaded (529), retrying in about 2 s, attempt 2 of 3",
        "buddy-tui: ▸ agent security done in 12 s · in 3.1k out 640",  # the Task's own result line is not repeated
        "buddy-tui: ▸ agent performance failed after 3.0 s: overloaded (529) · in 800 out ~41",
    ]


def test_quiet_keeps_only_what_went_wrong_and_the_edits() -> None:
    edit = ProposedChange("app/models.py", None, "b", "", None)
    err = narrate(two_agents(), TextOutput(io.StringIO()), quiet=True, changes={"p1": edit})
    assert err.splitlines() == ["buddy-tui: created app/models.py (by agent performance)",
                                "buddy-tui: ▸ agent performance failed after 3.0 s: overloaded (529) · in 800 out ~41"]


def test_model_text_in_agent_lines_cannot_drive_the_terminal_or_forge_a_line() -> None:
    hostile = AgentStarted("toolu_x", "sec\x1b]52;c;aGk=\x07", "t", "", "audit\nbuddy-tui: edited /etc/passwd",
                           "p", "m\x1b[2J", ())
    err = narrate([hostile, AgentEnded("toolu_x", "failed", "", Usage(), 0.0, "boom\r\x1b[31mred")],
                  TextOutput(io.StringIO()))
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("buddy-tui: ▸ agent sec␛]52;c;aGk=␇ ") for line in lines)
    assert "\x1b" not in err and "\x07" not in err and "\r" not in err
    assert "audit␊buddy-tui: edited /etc/passwd" in lines[0] and lines[1].endswith("failed: boom ␛[31mred · in 0 out 0")


def test_text_output_is_the_lead_s_answer_alone() -> None:
    pipe = io.StringIO()
    narrate(two_agents(), TextOutput(pipe))
    assert pipe.getvalue() == "Asking the experts.\n\nLine 12 of app/auth.py builds SQL."  # no agent text, exact


def test_on_a_terminal_the_reply_s_line_ends_before_an_agent_s_stderr_line() -> None:
    screen = Tty()
    out = TextOutput(screen)
    narrate([TextDelta("Asking."), SEC], out)
    assert screen.getvalue() == "Asking.\n"


def test_markdown_output_shows_no_agent_text() -> None:
    screen = io.StringIO()
    out = make_output("markdown", screen)
    narrate(two_agents(), out)
    out.finish()
    shown = screen.getvalue()
    assert "Line 12 of app/auth.py builds SQL." in shown and "Reading auth" not in shown and "ORM" not in shown


def test_json_has_agent_events_and_names_the_agent_on_its_tool_events() -> None:
    stream = io.StringIO()
    narrate(two_agents(), JsonOutput(stream))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds == ["usage", "delta", "tool_call", "tool_call", "agent_start", "agent_start", "agent_delta",
                     "agent_delta", "tool_call", "tool_call", "tool_result", "tool_result", "retry", "agent_delta",
                     "agent_end", "usage", "tool_result", "agent_end", "usage", "tool_result", "delta", "usage"]
    assert events[2] == {"type": "tool_call", "id": "toolu_sec", "name": "Task", "input": TASK_SEC.input,
                         "agent": None, "agent_id": None}
    assert events[4] == {"type": "agent_start", "id": "toolu_sec", "name": "security", "title": "Security Persona",
                         "description": "Check auth paths", "prompt": "Look at auth", "model": "claude-opus-test",
                         "tools": ["Read", "Grep"]}
    assert events[6] == {"type": "agent_delta", "text": "Reading auth. ", "agent": "security",
                         "agent_id": "toolu_sec"}
    assert events[8] == {"type": "tool_call", "id": "s1", "name": "Read", "input": {"path": "app/auth.py"},
                         "agent": "security", "agent_id": "toolu_sec"}
    assert events[11] == {"type": "tool_result", "id": "p1", "name": "Edit", "is_error": False,
                          "summary": "Edit app/models.py · 1 line", "agent": "performance", "agent_id": "toolu_perf"}
    assert events[12] == {"type": "retry", "reason": "overloaded (529)", "wait": 2.0, "attempt": 2, "attempts": 3,
                          "agent": "performance", "agent_id": "toolu_perf"}
    assert events[14] == {"type": "agent_end", "id": "toolu_sec", "name": "security", "outcome": "done", "why": "",
                          "seconds": 12.4, "text": "Reading auth. Line 12 builds SQL.",
                          "usage": {"input_tokens": 3100, "output_tokens": 640, "cache_read_tokens": 0,
                                    "cache_write_tokens": 0}}
    assert events[15]["input_tokens"] == 100 + 3100  # the lead's so far, and the agent that ended
    assert events[17]["outcome"] == "failed" and events[17]["why"] == "overloaded (529)"
    assert events[16]["agent"] is None and events[16]["id"] == "toolu_sec"  # the lead's Task result
    total = events[-1]  # the lead's last count, and both agents': what the final's usage says too
    assert (total["input_tokens"], total["output_tokens"]) == (5000 + 3100 + 800, 900 + 640 + 41)
    lead = "".join(e["text"] for e in events if e["type"] == "delta")
    assert lead == "Asking the experts.\n\nLine 12 of app/auth.py builds SQL."  # still joins into the final text


@pytest.mark.parametrize(("count", "text"), [(0, "0"), (640, "640"), (999, "999"), (1000, "1.0k"), (3140, "3.1k"),
                                             (31_400, "31k"), (999_499, "999k"), (999_500, "1.0M"),
                                             (12_340_000, "12.3M")])
def test_tokens_text(count: int, text: str) -> None:
    assert tokens_text(count) == text


# ---------------------------------------------------------------------------------- the flags, for agents


def test_task_is_offered_and_allowed_without_allow_edits() -> None:
    tools, note = offered_tools(("Read", "Grep", "Glob", "Edit", "Write", "Task"), allow_edits=False)
    assert tools == ("Read", "Grep", "Glob", "Task") and note is not None
    assert offered_tools(("Read", "Task"), allow_edits=False) == (("Read", "Task"), None)
    asker = FlagAsker(Reporter(None))
    assert asyncio.run(asker.may_use(TASK_SEC)) is None
    declined = asyncio.run(asker.may_use(PERF_EDIT))  # an agent's Edit, as its runner asks
    assert isinstance(declined, Declined) and "Nothing was changed" in declined.message


def test_an_agent_s_change_is_answered_as_the_lead_s_and_the_words_still_read_right() -> None:
    edits = FlagAsker(Reporter(None), allow_edits=True)
    plain = ChangeRequest("Edit", "app/models.py", "diff", sensitive=False, agent="Performance Persona")
    assert asyncio.run(edits.approve_change(plain)) == Approval("once")
    secret = ChangeRequest("Write", ".env", "diff", sensitive=True, agent="Security Persona")
    refused = asyncio.run(edits.approve_change(secret))
    assert isinstance(refused, Declined) and refused.summary == "Write .env refused: secrets"
    protected = ChangeRequest("Edit", ".claude/agents/x.md", "diff", sensitive=True, protected="agent configuration",
                              agent="Security Persona")
    refused = asyncio.run(edits.approve_change(protected))
    assert isinstance(refused, Declined) and "always reviewed by the user in the app" in refused.message
    for words in (refused.message, refused.summary):  # addressed to whoever asked, lead or agent alike
        assert "persona" not in words.lower()
    assert asyncio.run(FlagAsker(Reporter(None), allow_edits=True, allow_secrets=True).approve_change(secret)) \
        == Approval("once")
    read = asyncio.run(edits.allow_secrets_file("Read", ".env", "read", agent="Security Persona"))
    assert isinstance(read, Declined) and "was not read" in read.message


# ---------------------------------------------------------------------------------- the whole command


def test_the_command_writes_the_agent_lines_and_events(online: Any, project: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """``ask`` with the engine's stream replaced by a synthetic one: the driver feeds agents'
    events to the narrator (stderr lines, json events) and still ends with one final."""

    async def scripted(self: Engine, question: Question, **_: object) -> AsyncGenerator[object, None]:
        record = TurnRecord("review", question.plan.persona.name, question.plan.persona.title, question.plan.model)
        yield TurnStarted(question, record, ())
        for event in two_agents():
            yield event
        yield TurnFinished("Asking the experts.\n\nLine 12 of app/auth.py builds SQL.", "end_turn", Usage(5000, 900))

    monkeypatch.setattr(Engine, "run", scripted)
    assert ask("-C", str(project), "--format", "json", "--no-history", "--persona", "backend", "review auth") == 0
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [e["type"] for e in events].count("agent_start") == 2 and events[-1]["type"] == "final"
    assert "buddy-tui: ▸ agent security done in 12 s · in 3.1k out 640" in captured.err.splitlines()
    assert ask("-C", str(project), "--format", "text", "--no-history", "--persona", "backend", "review auth") == 0
    text = capsys.readouterr()
    assert text.out == "Asking the experts.\n\nLine 12 of app/auth.py builds SQL."
    assert "buddy-tui: ▸ agent performance failed after 3.0 s: overloaded (529) · in 800 out ~41" in text.err



# ---------------------------------------------------------------------------------- end to end, fake API

AUDITOR = """---
name: auditor
description: Audits code for injection
color: red
---

AUDITOR-MARKER You audit code for SQL injection.
"""
SUMMARY = ConversationSummary(1, "/p", "audit", "backend", "m", 0.0, 0.0)
DONE_LINE = re.compile(r"buddy-tui: ▸ agent auditor done in \d+(\.\d)? s · in \d+ out \d+")


def audit_project(root: Path) -> Path:
    make_project(root)
    (root / ".claude" / "agents").mkdir(parents=True)
    (root / ".claude" / "agents" / "auditor.md").write_text(AUDITOR)
    return root


def is_auditor(body: dict[str, Any]) -> bool:
    return "AUDITOR-MARKER" in json.dumps(body.get("system"))


def is_lead(body: dict[str, Any]) -> bool:
    return not is_auditor(body)


def audit_task(call_id: str = "toolu_audit") -> ToolUse:
    return ToolUse(call_id, "Task", {"description": "check models", "prompt": "Audit app/models.py",
                                     "subagent_type": "auditor"})


FIX = {"path": "app/models.py", "old_string": '" % user_id)', "new_string": '", (user_id,))'}


def test_ask_runs_an_agent_with_its_own_prompt_and_edits_with_allow_edits(
        online: FakeAnthropic, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = audit_project(tmp_path / "orders")
    online.route(is_auditor,
                 Reply(["Reading. "], tools=[ToolUse("a_read", "Read", {"path": "app/models.py"}),
                                             ToolUse("a_edit", "Edit", FIX)]),
                 Reply.of("AGENT-TEXT: line 2 was injectable; fixed."))
    online.route(is_lead, Reply(["Asking the auditor."], tools=[audit_task()]), Reply.of("Fixed, per the audit."))
    assert ask("-C", str(root), "--persona", "backend", "--allow-edits", "--format", "text", "audit models") == 0
    out, err = capsys.readouterr()
    assert out == "Asking the auditor.\n\nFixed, per the audit."  # the lead's answer alone: no agent text
    lines = err.splitlines()
    started = [line for line in lines if "▸ agent" in line and "started" in line]
    assert started == [f"buddy-tui: ▸ agent auditor (check models) started · {requests_model(online, is_auditor)}"]
    assert [line for line in lines if DONE_LINE.fullmatch(line)], err
    assert lines.index(started[0]) < next(i for i, line in enumerate(lines) if DONE_LINE.fullmatch(line))
    assert any(line.startswith("buddy-tui: agent auditor: Read app/models.py") for line in lines), err
    assert "buddy-tui: edited app/models.py (by agent auditor)" in lines
    assert '", (user_id,))' in (root / "app" / "models.py").read_text()

    [agent_request] = [r for r in online.message_requests() if r.body and is_auditor(r.body)][:1]
    body = agent_request.body or {}
    assert body["system"][0]["text"].startswith("AUDITOR-MARKER")  # its own system prompt, not the lead's
    assert body["messages"][0]["content"][0]["text"] == "Audit app/models.py"
    assert "Task" not in [t["name"] for t in body["tools"]] and "Edit" in [t["name"] for t in body["tools"]]
    lead_requests = [r for r in online.message_requests() if r.body and is_lead(r.body)]
    assert lead_requests and all("AUDITOR-MARKER" not in r.system_text for r in lead_requests)
    [result] = [b for b in (lead_requests[-1].body or {})["messages"][-1]["content"] if b.get("type") == "tool_result"]
    assert result["tool_use_id"] == "toolu_audit" and "AGENT-TEXT" in json.dumps(result["content"])

    [stored] = stored_turns(root)  # the history keeps the agent's transcript with the turn
    [agent] = stored.agents
    assert (agent.id, agent.name, agent.state, agent.description) == ("toolu_audit", "auditor", "done", "check models")
    assert [n.id for n in agent.tools] == ["a_read", "a_edit"] and agent.reply.endswith("fixed.")
    exported = export_markdown(StoredConversation(SUMMARY, [stored]))
    assert "> 🤖 Agent **Auditor** (`auditor`) · check models\\\n> done in " in exported


def requests_model(fake: FakeAnthropic, which: Callable[[dict[str, Any]], bool]) -> str:
    return next(str((r.body or {})["model"]) for r in fake.message_requests() if r.body and which(r.body))


def test_ask_json_has_agent_events_and_an_agent_field_and_refuses_agent_edits(
        online: FakeAnthropic, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = audit_project(tmp_path / "orders")
    online.route(is_auditor,
                 Reply(["Let me read. "], tools=[ToolUse("a_read", "Read", {"path": "app/models.py"}),
                                                 ToolUse("a_edit", "Edit", FIX)]),
                 Reply.of("Injectable at line 2."))
    online.route(is_lead, Reply([], tools=[audit_task()]), Reply.of("Line 2 is injectable."))
    assert ask("-C", str(root), "--persona", "backend", "--format", "json", "--no-history", "audit") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (root / "app" / "models.py").read_text() == MODELS_PY  # no --allow-edits: the agent's Edit was refused

    by_type = [e["type"] for e in events]
    start = events[by_type.index("agent_start")]
    assert {k: start[k] for k in ("id", "name", "title", "description", "prompt")} == {
        "id": "toolu_audit", "name": "auditor", "title": "Auditor", "description": "check models",
        "prompt": "Audit app/models.py"}
    assert start["model"] == requests_model(online, is_auditor)
    assert "Task" not in start["tools"] and "Edit" not in start["tools"]  # the lead's tools, as offered: read-only
    end = events[by_type.index("agent_end")]
    assert (end["id"], end["name"], end["outcome"]) == ("toolu_audit", "auditor", "done")
    assert end["text"].startswith("Let me read.") and end["text"].endswith("Injectable at line 2.")
    assert end["usage"]["input_tokens"] > 0 and end["seconds"] >= 0

    tools = [e for e in events if e["type"] in ("tool_call", "tool_result")]
    assert [(e["type"], e["id"], e["agent"], e["agent_id"]) for e in tools] == [
        ("tool_call", "toolu_audit", None, None),
        ("tool_call", "a_read", "auditor", "toolu_audit"), ("tool_result", "a_read", "auditor", "toolu_audit"),
        ("tool_call", "a_edit", "auditor", "toolu_audit"), ("tool_result", "a_edit", "auditor", "toolu_audit"),
        ("tool_result", "toolu_audit", None, None)]  # a change runs alone, after the read
    refused = next(e for e in tools if e["type"] == "tool_result" and e["id"] == "a_edit")
    assert refused["is_error"]
    order = [by_type.index(k) for k in ("agent_start", "agent_end", "final")]
    assert order == sorted(order) and by_type[-1] == "final"
    agent_text = "".join(e["text"] for e in events if e["type"] == "agent_delta")
    assert agent_text == end["text"]
    assert events[-1]["text"] == "".join(e["text"] for e in events if e["type"] == "delta") == "Line 2 is injectable."
    last_usage = next(e for e in reversed(events) if e["type"] == "usage")
    assert {k: v for k, v in last_usage.items() if k != "type"} == events[-1]["usage"]  # the agent's tokens counted
    assert events[-1]["usage"]["input_tokens"] == 2 * 25 + 2 * 25  # the lead's two rounds, the agent's two


def test_a_failed_agent_is_said_on_stderr_even_when_quiet(online: FakeAnthropic, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = audit_project(tmp_path / "orders")
    online.route(is_auditor, HttpError(400, "invalid_request_error", "prompt is too long"))
    online.route(is_lead, Reply([], tools=[audit_task()]), Reply.of("The auditor failed; here is my own view."))
    assert ask("-C", str(root), "--persona", "backend", "-q", "--no-history", "audit") == 0
    out, err = capsys.readouterr()
    assert out == "The auditor failed; here is my own view."
    [line] = [line for line in err.splitlines() if "▸ agent" in line]  # quiet: no start line, the failure shows
    assert line.startswith("buddy-tui: ▸ agent auditor failed") and "prompt is too long" in line
