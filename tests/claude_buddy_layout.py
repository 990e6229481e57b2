"""A project laid out like Claude Buddy v3: eight agents in ``.claude/agents`` and eight workflow
commands in ``.claude/commands/buddy`` that hand their work to those agents through the Task tool.

The shapes follow the real files (front matter as messy as theirs: one-line descriptions holding
literal ``\\n`` and ``<example>`` blocks, multi-line descriptions with ``user:`` lines, models
opus / sonnet / inherit / none, colours, one ``tools:`` list) but every word is our own.
One agent names a model that does not exist, on purpose: it must load, and show in /problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Agent(NamedTuple):
    """One agent file to write: its front-matter lines (as text, messy on purpose) and body."""

    name: str
    front: str
    body: str


def _one_line_examples(intro: str, cases: list[tuple[str, str]], agent: str) -> str:
    """A description on one line, the way Claude Code's agent generator writes it: newlines as
    literal backslash-n, with <example> blocks whose 'user:' and 'Context:' parts hold colons."""
    parts = [intro]
    for context, ask in cases:
        parts.append(f"<example>\\nContext: {context}\\nuser: \"{ask}\"\\nassistant: \"I will hand this "
                     f"to the {agent} agent.\"\\n<commentary>\\nThis is {agent} work: launch it with the Task "
                     f"tool.\\n</commentary>\\n</example>")
    return "\\n\\n".join(parts)


def _agents() -> list[Agent]:
    spec = _one_line_examples(
        "Turns a feature idea written in plain words into a formal specification file. Reach for it when:",
        [("Someone describes a feature they want.", "Customers should be able to export invoices as CSV"),
         ("The user runs the spec command.", "/buddy:spec rate limits per API key")], "spec-writer")
    plan = _one_line_examples(
        "Reads an existing specification and writes the implementation plan for it. Use it when:",
        [("A spec is finished and approved.", "The export spec is done, what is the plan?")], "plan-writer")
    tasks = _one_line_examples(
        "Breaks a plan into numbered, ordered tasks, marking which can run side by side. Use it when:",
        [("A plan exists but no task list.", "Split the export plan into tasks")], "tasks-writer")
    executor = _one_line_examples(
        "Works through a task list in dependency order, tests before code. Use it when:",
        [("The task list is ready.", "Start implementing T001 to T006")], "task-executor")
    return [
        Agent("spec-writer", f"name: spec-writer\ndescription: {spec}\nmodel: opus\ncolor: blue",
              "You write feature specifications.\n\n## Steps\n\n1. Read the foundation file first.\n"
              "2. Write `spec/<date>-<slug>/spec.md` with goals, scenarios and open questions.\n"),
        Agent("plan-writer", f"name: plan-writer\ndescription: {plan}\nmodel: opus\ncolor: green",
              "You turn an approved specification into a technical plan: data model, interfaces, risks.\n"),
        Agent("tasks-writer", f"name: tasks-writer\ndescription: {tasks}\nmodel: inherit\ncolor: purple",
              "You write tasks.md: numbered tasks (T001...), each naming the files it touches.\n"),
        Agent("task-executor", f"name: task-executor\ndescription: {executor}\nmodel: sonnet\ncolor: cyan",
              "You carry out tasks from tasks.md one by one and tick each off when its tests pass.\n"),
        # Unquoted one-liner with ': ' inside, and a tools list, as the real git agent has.
        Agent("git-workflow",
              "name: git-workflow\ndescription: Use proactively for git work: commits, branches and pull "
              "requests, with conventional commit messages\nmodel: sonnet\ncolor: orange\n"
              "tools: Bash, Read, Grep, Glob",
              "You handle git for the project. Stage only what belongs to the change; write the message in the "
              "conventional commit style.\n"),
        # A description spread over many raw lines, with <example> blocks and 'user:' lines.
        Agent("docs-generator",
              "name: docs-generator\ndescription: Writes the project's technical documentation from its code.\n\n"
              "<example>\nContext: The docs are missing.\nuser: \"Document this project\"\n"
              "assistant: \"The docs-generator agent will write them.\"\n<Task tool call to docs-generator>\n"
              "</example>\n\n<example>\nContext: The docs are stale.\nuser: \"/buddy:docs\"\n"
              "assistant: \"Regenerating them with the docs-generator agent.\"\n</example>\ncolor: yellow",
              "You read the code base and write docs/ following the foundation's templates.\n"),
        # No model at all: the lead's.
        Agent("foundation",
              "name: foundation\ndescription: Creates or amends directive/foundation.md, the project's "
              "principles and rules.\\n\\nExamples:\\n- adding a principle\\n- changing the versioning "
              "policy\ncolor: cyan",
              "You keep the project foundation file: principles, governance, versioning.\n"),
        # A model value that is no model: loads, runs on the lead's model, and is listed in /problems.
        Agent("persona-dispatcher",
              "name: persona-dispatcher\ndescription: Picks the expert personas that fit a request and answers "
              "with their combined view.\\n<example>\\nuser: \"/buddy:persona security - check the login "
              "flow\"\\n</example>\nmodel: gpt-4-turbo\ncolor: purple",
              "You score the available personas against the request and answer as the best ones together.\n"),
    ]


#: Command name (as in /buddy:NAME) -> (the agent it launches, what the user types after it).
COMMANDS = {
    "spec": ("spec-writer", "the feature to specify"),
    "plan": ("plan-writer", "which spec to plan (optional)"),
    "tasks": ("tasks-writer", "which plan to split (optional)"),
    "implement": ("task-executor", "which task list to run (optional)"),
    "commit": ("git-workflow", "extra instructions for the commit (optional)"),
    "docs": ("docs-generator", "which part to document (optional)"),
    "foundation": ("foundation", "the principles to add or change"),
    "persona": ("persona-dispatcher", "persona names, a dash, then the request"),
}


def _command(name: str, agent: str, what: str) -> str:
    """A workflow command, phrased as Claude Buddy's are: launch the agent with the Task tool, pass
    $ARGUMENTS on, and say the subagent_type again at the end in bold."""
    return (f"---\ndescription: Run the {agent} agent on {what}.\n---\n\n"
            f"Use the Task tool to launch the {agent} agent with this prompt:\n\n"
            f"**Prompt for the {agent} agent**:\n\n"
            f"You have been called by /buddy:{name}.\n\n**What the user gave**: $ARGUMENTS\n\n"
            "- If the user gave nothing, look for the newest matching file under `spec/` and say which.\n"
            "- Report the files you wrote, as paths.\n\n"
            f"**IMPORTANT**: Use the Task tool with subagent_type \"{agent}\" to launch this work.\n")


def make_claude_buddy_layout(root: Path) -> dict[str, str]:
    """Write the layout under ``root`` (created if needed) and return command name -> subagent_type."""
    agents = root / ".claude" / "agents"
    commands = root / ".claude" / "commands" / "buddy"
    agents.mkdir(parents=True, exist_ok=True)
    commands.mkdir(parents=True, exist_ok=True)
    for agent in _agents():
        (agents / f"{agent.name}.md").write_text(f"---\n{agent.front}\n---\n\n{agent.body}", encoding="utf-8")
    for name, (agent_name, what) in COMMANDS.items():
        (commands / f"{name}.md").write_text(_command(name, agent_name, what), encoding="utf-8")
    return {name: agent_name for name, (agent_name, _) in COMMANDS.items()}


#: What each agent's front matter says, for tests: name -> (color, model as written, tools declared).
EXPECTED = {
    "spec-writer": ("blue", "opus", False),
    "plan-writer": ("green", "opus", False),
    "tasks-writer": ("purple", "inherit", False),
    "task-executor": ("cyan", "sonnet", False),
    "git-workflow": ("orange", "sonnet", True),
    "docs-generator": ("yellow", None, False),
    "foundation": ("cyan", None, False),
    "persona-dispatcher": ("purple", "gpt-4-turbo", False),
}
#: The one agent whose model is deliberately unknown.
UNKNOWN_MODEL_AGENT = "persona-dispatcher"
