"""Where each persona comes from, said plainly: lenient readings listed for /problems, overrides
naming both files, Claude Buddy's ``persona-*`` agents taking the place of the bundled experts,
and ``--list-personas`` showing what the app would offer in a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui import cli
from buddy_tui.conversation.session import open_session
from buddy_tui.personas import frontmatter_cache as metacache
from buddy_tui.personas.catalog import load_catalog
from buddy_tui.personas.frontmatter import parse
from buddy_tui.settings.model_settings import Settings
from buddy_tui.settings.resources import personas_dir
from buddy_tui.ui.help import help_markdown


def agent(name: str, description: str, tools: str = "Read, Grep, Glob") -> str:
    """An agent file shaped like Claude Buddy's: name, description and tools in front matter."""
    return f"---\nname: {name}\ndescription: {description}\ntools: {tools}\n---\n# {name}\n\nYou are {name}.\n"


def claude_buddy_project(root: Path) -> Path:
    """A project that installed Claude Buddy's agents (persona-*.md), plus two sloppy files."""
    agents = root / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "persona-backend.md").write_text(agent(
        "persona-backend", "Keeps services up and APIs honest. Use it for endpoints, storage and uptime.",
        "Read, Grep, Glob, Edit, Write"))
    (agents / "persona-security.md").write_text(agent("persona-security", "Thinks like an attacker."))
    (agents / "persona-scribe.md").write_text(agent("persona-scribe", "Writes the docs nobody else will."))
    (agents / "broken-name.md").write_text("---\nname: [unclosed\ndescription: a list never closed\n---\nBody.\n")
    (agents / "plain.md").write_text("You answer plainly.\n")
    return root


# ---------------------------------------------------------------------------------- lenient reading


def test_front_matter_that_is_not_strict_yaml_still_loads_and_says_where() -> None:
    unclosed = parse("---\nname: [unclosed\ndescription: d\n---\nbody")
    assert unclosed.meta == {"name": "[unclosed", "description": "d"}
    assert [(n.line, n.why) for n in unclosed.notes] == [
        (2, "'name': '[' opens a list that is never closed; read as the text '[unclosed'")]
    quoted = parse("---\nname: a\ndescription: Use when: designing APIs\n---\nB")
    assert [(n.line, n.why) for n in quoted.notes] == [
        (3, "'description': ': ' in an unquoted value; read as quoted text, as Claude Code does")]
    stray = parse("---\nnot a field\nname: x\n---\nB")
    assert stray.notes[0].line == 2 and "'not a field' is not a 'key: value' line" in stray.notes[0].why
    assert parse("---\nname: x\ndescription: fine\n---\nB").notes == ()
    assert parse("no front matter at all").notes == ()  # a command without any is normal


def test_every_lenient_file_is_listed_with_line_and_reason(tmp_path: Path) -> None:
    catalog = load_catalog(claude_buddy_project(tmp_path))
    assert catalog.personas["[unclosed"].description == "a list never closed"  # lenient reading kept
    assert catalog.personas["plain"].description == ""
    lenient = {(p.path.name, p.line): p.why for p in catalog.lenient}
    assert set(lenient) == {("broken-name.md", 2), ("plain.md", 1)}
    assert "never closed" in lenient["broken-name.md", 2]
    assert lenient["plain.md", 1] == "no front matter: named 'plain' after the file, with no description"
    assert catalog.problems == []  # loaded, so not among the files that could not be read


def test_the_notes_survive_the_front_matter_cache(tmp_path: Path) -> None:
    root = claude_buddy_project(tmp_path)
    first = [(p.path, p.line, p.why) for p in load_catalog(root).lenient]
    metacache.forget()  # as a new start does: the parsed front matter now comes from the cache file
    again = load_catalog(root)
    assert [(p.path, p.line, p.why) for p in again.lenient] == first
    assert metacache.get("name: [unclosed\ndescription: a list never closed") is not None  # really cached


def test_bundled_files_are_strict_yaml() -> None:
    catalog = load_catalog(personas_dir())  # a folder with no .claude/: the bundled and user files only
    assert catalog.lenient == [] and catalog.problems == []


# ---------------------------------------------------------------------------------- overrides


def test_an_override_names_the_file_that_won_and_the_one_that_lost(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(config))
    (config / "personas").mkdir(parents=True)
    (config / "personas" / "devops.md").write_text(agent("devops", "mine"))
    (config / "commands" / "buddy").mkdir(parents=True)
    (config / "commands" / "buddy" / "api.md").write_text("---\ndescription: my api\n---\nDo $ARGUMENTS\n")
    root = tmp_path / "project"
    (root / ".buddy" / "personas").mkdir(parents=True)
    (root / ".buddy" / "personas" / "devops.md").write_text(agent("devops", "the team's"))
    overrides = load_catalog(root).overrides
    assert overrides == [
        f"User persona 'devops' ({config}/personas/devops.md) overrides the bundled one "
        "(buddy-tui's personas/devops.md).",
        f"Project persona 'devops' (.buddy/personas/devops.md) overrides the user one ({config}/personas/devops.md).",
        f"User command 'buddy:api' ({config}/commands/buddy/api.md) overrides the bundled one "
        "(buddy-tui's commands/buddy/api.md).",
    ]


def test_claude_buddys_persona_backend_takes_the_place_of_the_bundled_backend(tmp_path: Path) -> None:
    root = claude_buddy_project(tmp_path)
    catalog = load_catalog(root)
    backends = [p for p in catalog.personas.values() if p.title == "Backend"]
    assert len(backends) == 1, "one backend expert, not two"
    backend = catalog.personas["backend"]
    assert (backend.source, backend.declared_name) == ("agent", "persona-backend")
    assert backend.path == root / ".claude" / "agents" / "persona-backend.md"
    assert "Agent persona 'backend' (.claude/agents/persona-backend.md, named persona-backend) overrides the " \
           "bundled one (buddy-tui's personas/backend.md)." in catalog.overrides
    assert "persona-scribe" not in catalog.personas and catalog.personas["scribe"].title == "Scribe"
    session = open_session(root, "persona-backend", Settings())  # the name Claude Buddy users know works too
    assert session.current == backend
    assert session.find_persona("persona-security") is session.catalog.personas["security"]
    assert session.catalog.personas["security"].source == "agent"


def test_help_says_where_each_persona_came_from_and_what_it_replaced(tmp_path: Path) -> None:
    root = claude_buddy_project(tmp_path)
    page = help_markdown(open_session(root, None, Settings()), [], {})
    row = next(line for line in page.splitlines() if line.startswith("| backend (current) |"))
    assert row.endswith("| .claude/agents/persona-backend.md, overrides the bundled backend |"), row
    assert next(line for line in page.splitlines() if line.startswith("| devops |")).endswith("| bundled |")


# ---------------------------------------------------------------------------------- --list-personas


def test_list_personas_shows_what_the_app_would_offer_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    root = claude_buddy_project(tmp_path / "project")
    config = tmp_path / "config"
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(config))
    (config / "personas").mkdir(parents=True)
    (config / "personas" / "sre.md").write_text(agent("sre", "Keeps the pager quiet."))
    (root / ".claude" / "agents" / "half.md").write_text("---\nname: half\n")  # never closed: not loaded
    monkeypatch.chdir(root)
    assert cli.main(["--list-personas"]) == 0
    out, err = capsys.readouterr()
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines()}
    assert set(rows) == {"backend", "security", "performance", "devops", "sre", "scribe", "[unclosed", "plain"}
    assert all(len(row) == 4 for row in rows.values())
    agents = root / ".claude" / "agents"
    assert rows["backend"][1:3] == [str(agents / "persona-backend.md"),
                                    f"agent, named persona-backend, overrides bundled {personas_dir() / 'backend.md'}"]
    assert rows["performance"][1:] == [str(personas_dir() / "performance.md"), "bundled",
                                       rows["performance"][3]] and rows["performance"][3].startswith("A performance")
    assert rows["sre"][1:] == [str(config / "personas" / "sre.md"), "user", "Keeps the pager quiet."]
    assert rows["scribe"][2] == "agent, named persona-scribe"
    assert f"buddy-tui: not loaded: {agents / 'half.md'}:1: front matter opened with '---' is never closed" in err
    assert f"buddy-tui: read leniently: {agents / 'plain.md'}:1: no front matter" in err
    assert f"buddy-tui: read leniently: {agents / 'broken-name.md'}:2: 'name': '[' opens a list" in err


def test_list_personas_takes_a_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = claude_buddy_project(tmp_path / "project")
    assert cli.main(["--list-personas", str(root)]) == 0
    assert "scribe\t" in capsys.readouterr().out
    assert cli.main(["--list-personas", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_list_personas_keeps_one_line_per_persona_whatever_its_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A description or file name holding a line break or an escape sequence cannot forge a row or a
    ``buddy-tui:`` line, nor drive the terminal."""
    root = tmp_path / "project"
    agents = root / ".claude" / "agents"
    agents.mkdir(parents=True)
    description = '"fine\\nbuddy-tui: forged\\tx\\u001b]0;t\\u0007"'  # YAML escapes: a line break, ESC, BEL
    (agents / "sly.md").write_text(f"---\nname: sly\ndescription: {description}\n---\nHi\n")
    (agents / "bad\nbuddy-tui: forged.md").write_text("---\nname: [\n---\n")
    assert cli.main(["--list-personas", str(root)]) == 0
    out, err = capsys.readouterr()
    assert not any(line.startswith("buddy-tui: forged") for line in (out + err).splitlines())
    sly = [line for line in out.splitlines() if line.startswith("sly\t")]
    assert len(sly) == 1 and len(sly[0].split("\t")) == 4 and "\x1b" not in out + err
    assert "fine buddy-tui: forged" in sly[0]  # a summary is one line of text
