"""Agents in the Markdown export: each run quoted under the Task line that launched it, with who,
what it was asked, how it ended and its own tool calls; nothing in an agent's text can break out
of its quote."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from buddy_tui.store.export import export_markdown
from buddy_tui.store.records import (
    AgentRecord,
    ConversationSummary,
    StoredConversation,
    ToolNote,
    TurnRecord,
    Usage,
)
from buddy_tui.store.wording import duration_text

SUMMARY = ConversationSummary(3, "/p", "Review auth", "backend", "claude-test", 0.0, 0.0, turns=1)


def task(call_id: str, description: str, agent: str, offset: int, summary: str = "", error: bool = False) -> ToolNote:
    return ToolNote(call_id, "Task", {"description": description, "subagent_type": agent, "prompt": "..."},
                    summary, error, offset)


def lead(reply: str, tools: list[ToolNote], agents: list[AgentRecord], state: str = "complete") -> TurnRecord:
    return TurnRecord("Review the auth module", "backend", "Backend Buddy", "claude-test", reply=reply, tools=tools,
                      agents=agents, state=state, usage=Usage(5000, 900))  # type: ignore[arg-type]


def body(turn: TurnRecord) -> str:
    text = export_markdown(StoredConversation(SUMMARY, [turn]), now=0)
    return text[text.index("## Backend Buddy"):]


def test_each_agent_is_quoted_under_its_task_line() -> None:
    security = AgentRecord("toolu_1", "security", "Security Persona", "red", "Check auth paths",
                           "Look at app/auth.py", "claude-opus-test", "Found one.Line 12 builds SQL.",
                           [ToolNote("s1", "Read", {"path": "app/auth.py"}, "Read app/auth.py · 40 lines", False, 10)],
                           "done", "", Usage(3100, 640), 12.4)
    perf = AgentRecord("toolu_2", "performance", "Performance Persona", "", "Query costs", "Find N+1 queries\n",
                       "claude-test", "Looking", [], "failed", "overloaded (529)", Usage(800, 41, estimated=True), 3.0)
    turn = lead("Asking.Merged.", [task("toolu_1", "Check auth paths", "security", 7, "security: done"),
                                   task("toolu_2", "Query costs", "performance", 7, "performance failed", True)],
                [security, perf])
    assert body(turn) == """\
## Backend Buddy

Asking.

> 🔧 Task Check auth paths — security: done

> 🤖 Agent **Security Persona** (`security`) · Check auth paths\\
> done in 12 s · in 3,100 · out 640 · `claude-opus-test`
>
> Asked:
>
> ```text
> Look at app/auth.py
> ```
>
> Found one.
>
> > 🔧 Read app/auth.py · 40 lines
>
> Line 12 builds SQL.

> 🔧 ⚠ error: Task Query costs — performance failed

> 🤖 Agent **Performance Persona** (`performance`) · Query costs\\
> failed after 3.0 s: overloaded (529) · in 800 · out ~41 · `claude-test`
>
> Asked:
>
> ```text
> Find N+1 queries
> ```
>
> Looking

Merged.

*Tokens: in 5,000 · out 900*
"""


def test_nothing_in_an_agent_s_text_escapes_its_quote() -> None:
    hostile = "# A heading\n\n```python\nnever closed\n"  # stopped mid-fence
    grep = ToolNote("t", "Grep", {"pattern": "x"}, "", False, len(hostile))
    agent = AgentRecord("toolu_1", "sec*", "Sec <b>", description="`tick` [link](x) _x_", prompt="````\n## P\n",
                        reply=hostile + "\n---\n<div>\n\nhtml", tools=[grep], state="stopped", seconds=1.0)
    turn = lead("Before.After the agent.", [task("toolu_1", "desc", "sec*", 7)], [agent], state="stopped")
    text = export_markdown(StoredConversation(SUMMARY, [turn, lead("Next?", [], [])]), now=0)
    tokens = MarkdownIt("commonmark").parse(text)
    top = [t.type for t in tokens if t.level == 0 and (t.type.endswith("_open") or t.type in ("fence", "hr"))]
    # header, turn 1: You, fence, reply heading, "Before.", tool quote, agent quote, "After...", marker, tokens;
    # turn 2: You, fence, reply heading, "Next?", tokens.
    assert top == ["heading_open", "bullet_list_open",
                   "hr", "heading_open", "fence", "heading_open", "paragraph_open", "blockquote_open",
                   "blockquote_open", "paragraph_open", "paragraph_open", "paragraph_open",
                   "hr", "heading_open", "fence", "heading_open", "paragraph_open", "paragraph_open"]
    assert "> 🤖 Agent **Sec \\<b\\>** (`sec*`) · \\`tick\\` \\[link\\](x) \\_x\\_\\\n> stopped by the user after " \
           "1.0 s\n" in text
    assert "> ```python\n> never closed\n> ```\n>\n> > 🔧 Grep x\n" in text  # the open fence closed before the tool


def test_agents_without_a_line_still_go_out_and_unfinished_ones_say_so() -> None:
    running = AgentRecord("toolu_9", "devops", "DevOps Persona", reply="Checking the pipeline", state="running")
    queued = AgentRecord("toolu_8", "performance", "Performance Persona", state="queued")
    streaming = body(lead("So far", [], [running, queued], state="streaming"))
    assert "> 🤖 Agent **DevOps Persona** (`devops`)\\\n> still running when exported\n>\n> Checking the pipeline" \
           in streaming
    assert "> still queued when exported" in streaming
    stopped = body(lead("So far", [], [running], state="stopped"))
    assert "> interrupted\n" in stopped and "still running" not in stopped
    empty = body(lead("", [], [AgentRecord("toolu_7", "security", "security", state="done")]))
    assert "> 🤖 Agent **security**\\\n> done\n>\n> *(empty reply)*" in empty


def test_an_agent_s_credentials_never_reach_the_export(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-agent-secret-value")
    agent = AgentRecord("toolu_1", "security", "Security", prompt="key sk-ant-api03-agent-secret-value",
                        reply="it is sk-ant-api03-agent-secret-value", state="failed",
                        why="sk-ant-api03-agent-secret-value rejected")
    text = body(lead("x", [task("toolu_1", "d", "security", 1)], [agent]))
    assert "agent-secret-value" not in text and text.count("<ANTHROPIC_API_KEY>") == 3


@pytest.mark.parametrize(("seconds", "expected"), [
    (0.0, "0.0 s"), (3.04, "3.0 s"), (9.96, "10 s"), (12.4, "12 s"), (59.4, "59 s"), (59.6, "1 min 0 s"),
    (125.0, "2 min 5 s"),
])
def test_duration_text(seconds: float, expected: str) -> None:
    assert duration_text(seconds) == expected
