"""Turn records to and from the history database's rows and JSON columns.

Kept apart from :mod:`buddy_tui.store.history` (the database itself) so the shape of what is stored
can be read in one place. Writing scrubs the credential variables' values out of every text
(:func:`~buddy_tui.settings.crash_reports.scrub`). Reading is tolerant where a value is JSON
holding a list of entries (tool calls, agent runs): an entry that is not what it should be is
left out, a field of the wrong kind takes its default, so one odd entry never stops a
conversation from loading.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any, get_args

from buddy_tui.settings.crash_reports import scrub
from buddy_tui.store.records import AgentRecord, AgentState, ConversationSummary, ToolNote, TurnRecord, Usage

_AGENT_STATES: frozenset[str] = frozenset(get_args(AgentState))
#: Agent states that mean "not over yet": in a turn that has ended, such an agent was cut off.
UNFINISHED: frozenset[str] = frozenset({"queued", "running"})


def dump(value: Any) -> str:
    """``value`` as compact JSON, credentials scrubbed out."""
    return scrub(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def note_dict(note: ToolNote) -> dict[str, Any]:
    """A tool call as stored."""
    return {"id": note.id, "name": note.name, "input": note.input, "summary": note.summary,
            "is_error": note.is_error, "offset": note.offset}


def usage_dict(usage: Usage) -> dict[str, Any]:
    """Token counts as stored inside an agent entry."""
    return {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens,
            "cache_read_tokens": usage.cache_read_tokens, "cache_write_tokens": usage.cache_write_tokens,
            "estimated": usage.estimated}


def agent_dict(agent: AgentRecord) -> dict[str, Any]:
    """An agent run as stored (its texts are scrubbed when the whole list is dumped)."""
    return {"id": agent.id, "name": agent.name, "title": agent.title, "color": agent.color,
            "description": agent.description, "prompt": agent.prompt, "model": agent.model,
            "reply": agent.reply, "tools": [note_dict(n) for n in agent.tools], "state": agent.state,
            "why": agent.why, "usage": usage_dict(agent.usage), "seconds": agent.seconds}


def summary(row: sqlite3.Row) -> ConversationSummary:
    """A conversations row (with its ``turn_count``)."""
    return ConversationSummary(row["id"], row["project"], row["title"], row["persona"], row["model"],
                               row["created"], row["updated"], row["turn_count"])


def record(row: sqlite3.Row) -> TurnRecord:
    """A turns row. Agents still queued or running in a turn that is no longer streaming were cut
    off (Esc, or a crash found on this load's caller): they read as ``interrupted``."""
    usage = Usage(row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"],
                  bool(row["output_estimated"]))
    return TurnRecord(typed=row["typed"], persona=row["persona"], persona_title=row["persona_title"],
                      model=row["model"], files=list(json.loads(row["files"])),
                      user=list(json.loads(row["user_blocks"])),
                      reply=row["reply"], tools=notes(_entries(row["tools"])), state=row["state"],
                      failure=row["failure"], usage=usage, recorded=list(json.loads(row["recorded"])),
                      agents=agents(row["agents"]),
                      id=row["id"], created=row["created"], updated=row["updated"])


def settle_agents(turn: TurnRecord) -> None:
    """Mark the agents of a turn that has ended but were never heard to end as ``interrupted``."""
    if turn.state == "streaming":
        return
    for agent in turn.agents:
        if agent.state in UNFINISHED:
            agent.state = "interrupted"


def agents(raw: object) -> list[AgentRecord]:
    """The agents column read back; an entry that cannot be an agent run is left out."""
    found = []
    for entry in _entries(raw):
        agent = _agent(entry)
        if agent is not None:
            found.append(agent)
    return found


def notes(entries: list[object]) -> list[ToolNote]:
    """Tool calls read back; an entry that cannot be one is left out."""
    found = []
    for entry in entries:
        note = _note(entry)
        if note is not None:
            found.append(note)
    return found


def _entries(raw: object) -> list[object]:
    """A JSON column holding a list; [] for anything else (NULL, damaged text, another shape)."""
    if not isinstance(raw, str | bytes):
        return []
    try:
        value = json.loads(raw)
    except ValueError:  # JSONDecodeError, or bytes that are not UTF-8
        return []
    return value if isinstance(value, list) else []


def _note(entry: object) -> ToolNote | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not isinstance(entry.get("name"), str):
        return None
    given = entry.get("input")
    return ToolNote(entry["id"], entry["name"], dict(given) if isinstance(given, dict) else {},
                    _text(entry, "summary"), entry.get("is_error") is True, _count(entry.get("offset")))


def _agent(entry: object) -> AgentRecord | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        return None
    state = entry.get("state")
    usage = entry.get("usage")
    counts = usage if isinstance(usage, dict) else {}
    name = _text(entry, "name")
    return AgentRecord(
        id=entry["id"], name=name, title=_text(entry, "title") or name, color=_text(entry, "color"),
        description=_text(entry, "description"), prompt=_text(entry, "prompt"), model=_text(entry, "model"),
        reply=_text(entry, "reply"), tools=notes(entry["tools"] if isinstance(entry.get("tools"), list) else []),
        state=state if isinstance(state, str) and state in _AGENT_STATES else "interrupted",  # type: ignore[arg-type]
        why=_text(entry, "why"),
        usage=Usage(_count(counts.get("input_tokens")), _count(counts.get("output_tokens")),
                    _count(counts.get("cache_read_tokens")), _count(counts.get("cache_write_tokens")),
                    counts.get("estimated") is True),
        seconds=_seconds(entry.get("seconds")))


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    return value if isinstance(value, str) else ""


def _count(value: object) -> int:
    """A non-negative whole number; 0 for anything else (bool, text, a fraction)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _seconds(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return 0.0
