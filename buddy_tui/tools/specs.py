"""What the model is told about the tools: their names, limits and JSON schemas.

Kept apart from the tools themselves (tools/workspace.py) so each stays readable in one sitting.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from buddy_tui.tools.paths import READ_MAX_BYTES


@dataclass(frozen=True)
class ToolCall:
    """The model asks to run a tool."""

    id: str
    name: str
    input: dict[str, Any]

    @property
    def target(self) -> str:
        """What the call is aimed at, its path or pattern; "" when its input names neither."""
        target = self.input.get("path") or self.input.get("pattern") or ""
        return target if isinstance(target, str) else ""


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one tool call: text for the model's tool_result block, whether it failed,
    and one short line for the UI."""

    content: str
    is_error: bool = False
    summary: str = ""
    redacted: int = 0  # secret values the tool already redacted (by what the whole file holds)


TOOL_NAMES = ("Read", "Grep", "Glob", "Edit", "Write", "Task")
READ_ONLY = frozenset({"Read", "Grep", "Glob"})
#: Calls that may run at the same time as their neighbours of this kind in one round: an agent
#: (Task) does its own asking, and reading changes nothing.
CONCURRENT = READ_ONLY | {"Task"}

READ_DEFAULT_LINES = 400
READ_MAX_LINES = 2_000
GREP_MAX_FILE_BYTES = 2 * 1024 * 1024
GREP_MAX_LINES = 200
GREP_MAX_FILES = 50
GREP_LINE_CHARS = 300
GREP_SECONDS = 3.0
GLOB_MAX_PATHS = 500
GLOB_SECONDS = 3.0

_PATH = {"type": "string", "description": "Path relative to the project root, e.g. app/models.py."}
_SCHEMAS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "Read": (
        "Read a text file of the project; each line comes prefixed with its number so you can cite path:line. "
        f"Paths are relative to the project root; a call returns at most {READ_MAX_LINES:,} lines or "
        f"{READ_MAX_BYTES // 1024} KB, so read long files in parts with offset and limit.",
        {"path": _PATH,
         "offset": {"type": "integer", "minimum": 1, "description": "First line to read (1-based); default 1."},
         "limit": {"type": "integer", "minimum": 1, "maximum": READ_MAX_LINES,
                   "description": f"How many lines to read; default {READ_DEFAULT_LINES}."}},
        ["path"]),
    "Grep": (
        "Search the project's text files line by line for a Python regular expression, skipping files "
        "ignored by .gitignore, binary files and files over 2 MB. Paths are relative to the project root; "
        f"results are 'path:line: text' lines, capped at {GREP_MAX_LINES} lines in {GREP_MAX_FILES} files.",
        {"pattern": {"type": "string", "description": "Python regular expression, e.g. 'def load_\\w+'."},
         "path": {"type": "string", "description": "Folder or file to search, relative to the project root; "
                                                   "default: the whole project."},
         "glob": {"type": "string", "description": "Only files whose name matches this glob, e.g. '*.py' or "
                                                   "'*.{ts,tsx}' (with a '/', it matches the whole path)."},
         "ignore_case": {"type": "boolean", "description": "Match regardless of case; default false."}},
        ["pattern"]),
    "Glob": (
        "List the project's files whose paths, relative to the project root, match a glob: * and ? stay within "
        "one folder, ** spans any number of folders (so **/*.py finds every Python file), {a,b} gives choices. "
        f"Files ignored by .gitignore are left out; at most {GLOB_MAX_PATHS} paths are returned, sorted.",
        {"pattern": {"type": "string", "description": "Glob pattern, e.g. '**/*.py' or 'app/**/models*.py'."}},
        ["pattern"]),
    "Edit": (
        "Replace exact text in an existing text file of the project; the path is relative to the project root. "
        "old_string must match the file exactly, indentation included, and occur once unless replace_all is true.",
        {"path": _PATH,
         "old_string": {"type": "string", "description": "The exact text to replace."},
         "new_string": {"type": "string", "description": "The text to put in its place."},
         "replace_all": {"type": "boolean", "description": "Replace every occurrence; default false."}},
        ["path", "old_string", "new_string"]),
    "Write": (
        "Create a text file, or replace a whole file's content; the path is relative to the project root and "
        "missing folders are created. Prefer Edit for changing part of an existing file.",
        {"path": _PATH, "content": {"type": "string", "description": "The complete new content of the file."}},
        ["path", "content"]),
}


#: Task's description before the list of agents (each on its own line: ``- name: what it does``).
TASK_INTRO = (
    "Launch an agent: a separate expert conversation with its own system prompt, tools and model, which "
    "works on the prompt you give it and returns its final answer as this tool's result. The agent sees "
    "nothing of this conversation, so put everything it needs (files, findings, the question) in the prompt. "
    "Several Task calls in one message run at the same time; use that for independent pieces of work. "
    "Agents cannot launch agents. Available agents (subagent_type):")


def task_definition(agents: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The Task tool's definition, listing each launchable agent as (name, one-line description)."""
    listed = "\n".join(f"- {name}: {summary}" if summary else f"- {name}" for name, summary in agents)
    return {"name": "Task", "description": f"{TASK_INTRO}\n{listed or '(none)'}",
            "input_schema": {"type": "object", "properties": {
                "description": {"type": "string", "description": "A few words (3-5) saying what the agent will do."},
                "prompt": {"type": "string", "description": "The task for the agent, complete and self-contained."},
                "subagent_type": {"type": "string", "description": "Which agent to launch, by its name above."}},
                "required": ["description", "prompt", "subagent_type"]}}


def tool_definitions(allowed: Iterable[str], agents: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """Messages API tool definitions for the ``allowed`` tools, in :data:`TOOL_NAMES` order
    (names this module has no tool for are left out); Task lists ``agents`` (name, summary)."""
    wanted = set(allowed)
    return [task_definition(agents) if name == "Task" else
            {"name": name, "description": _SCHEMAS[name][0],
             "input_schema": {"type": "object", "properties": copy.deepcopy(_SCHEMAS[name][1]),
                              "required": list(_SCHEMAS[name][2])}}
            for name in TOOL_NAMES if name in wanted]
