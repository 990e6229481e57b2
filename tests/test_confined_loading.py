"""Files the app loads on its own obey the tools' confinement: a project's memory, persona, agent,
skill, command and manifest files are read only when they really lie inside the project and are
regular files; each refused one is named in the catalog's problems (what /problems shows) with
the reason. Project memory is secret-scanned before the system prompt. User folders are the
user's: not confined to a project, but still read only as regular files, with a bound."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from buddy_tui.context.confined import Refused, read_bounded
from buddy_tui.context.project import check_files, load_memory, scan_project
from buddy_tui.personas.catalog import load_catalog, user_dir
from tests.fake_api import FakeAnthropic
from tests.test_ask import ask, terminal_stdin  # noqa: F401 (an autouse fixture: stdin is a terminal)

GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
#: A value standing for the user's credentials outside the project.
OUTSIDE_SECRET = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYZZ"

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "repo"
    (project / ".claude" / "agents").mkdir(parents=True)
    (project / ".claude" / "commands").mkdir(parents=True)
    (project / ".claude" / "skills").mkdir(parents=True)
    (project / "app.py").write_text("print('hi')\n")
    return project


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A credentials file outside the project, like ~/.aws/credentials."""
    folder = tmp_path / "home" / ".aws"
    folder.mkdir(parents=True)
    credentials = folder / "credentials"
    credentials.write_text(f"---\nname: backend\ndescription: creds\n---\n[default]\n{OUTSIDE_SECRET}\n")
    return credentials


def problems_of(root: Path) -> dict[str, str]:
    catalog = load_catalog(root)
    return {p.path.relative_to(root).as_posix(): p.why for p in catalog.problems if p.path.is_relative_to(root)}


def test_memory_symlinked_out_of_the_project_is_refused_and_named(root: Path, outside: Path) -> None:
    (root / "CLAUDE.md").symlink_to("/proc/self/environ" if Path("/proc/self/environ").exists() else outside)
    (root / "CLAUDE.local.md").symlink_to(outside)
    (root / ".claude" / "CLAUDE.md").write_text("Use pytest.\n")
    memory = load_memory(root)
    assert [m.path for m in memory] == [".claude/CLAUDE.md"]
    problems = problems_of(root)
    assert "symlink to a place outside the project" in problems["CLAUDE.md"]
    assert "symlink to a place outside the project" in problems["CLAUDE.local.md"]
    assert all(OUTSIDE_SECRET not in why for why in problems.values())


def test_memory_symlinked_inside_the_project_still_counts(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "memory.md").write_text("Run make test.\n")
    (root / "CLAUDE.md").symlink_to(root / "docs" / "memory.md")
    assert [(m.path, m.text) for m in load_memory(root)] == [("CLAUDE.md", "Run make test.")]
    assert check_files(root) == []


@needs_fifo
def test_a_named_pipe_as_memory_or_agent_never_blocks(root: Path) -> None:
    """Reading a FIFO blocks until someone writes; before, the app froze at start."""
    os.mkfifo(root / "CLAUDE.md")
    os.mkfifo(root / ".claude" / "agents" / "pipe.md")
    assert load_memory(root) == []
    problems = problems_of(root)
    assert "named pipe" in problems["CLAUDE.md"]
    assert "named pipe" in problems[".claude/agents/pipe.md"]


def test_an_agent_symlinked_to_credentials_never_becomes_a_persona(root: Path, outside: Path) -> None:
    (root / ".claude" / "agents" / "backend.md").symlink_to(outside)
    catalog = load_catalog(root)
    assert catalog.personas["backend"].source == "bundled"
    assert all(OUTSIDE_SECRET not in p.prompt for p in catalog.personas.values())
    assert "outside the project" in problems_of(root)[".claude/agents/backend.md"]


def test_commands_and_skills_through_symlinks_out_of_the_project(root: Path, outside: Path) -> None:
    (root / ".claude" / "commands" / "leak.md").symlink_to(outside)
    (root / ".claude" / "skills" / "remote").symlink_to(outside.parent, target_is_directory=True)
    (outside.parent / "SKILL.md").write_text("---\nname: remote\ndescription: x\n---\nLeak.\n")
    catalog = load_catalog(root)
    assert catalog.commands.get("leak") is None and "remote" not in catalog.personas
    problems = problems_of(root)
    assert "outside the project" in problems[".claude/commands/leak.md"]
    assert "not searched" in problems[".claude/skills/remote"]


def test_symlink_loops_in_a_commands_folder_end(root: Path) -> None:
    """Two links back to their own folder made 2**40 paths for a '**' glob to walk."""
    commands = root / ".claude" / "commands"
    (commands / "a").symlink_to(commands, target_is_directory=True)
    (commands / "b").symlink_to(commands, target_is_directory=True)
    (commands / "deploy.md").write_text("Deploy $ARGUMENTS\n")
    catalog = load_catalog(root)
    assert catalog.commands.get("deploy") is not None


def test_user_folders_are_not_confined_but_must_be_regular_files(root: Path, outside: Path) -> None:
    personas = user_dir() / "personas"
    personas.mkdir(parents=True)
    mine = outside.parent / "mine.md"
    mine.write_text("---\nname: mine\ndescription: my own\n---\nYou are mine.\n")
    (personas / "mine.md").symlink_to(mine)  # a dotfiles setup: the user's own choice
    if hasattr(os, "mkfifo"):
        os.mkfifo(personas / "pipe.md")
    catalog = load_catalog(root)
    assert catalog.personas["mine"].prompt == "You are mine."
    if hasattr(os, "mkfifo"):
        assert any(p.path.name == "pipe.md" and "named pipe" in p.why for p in catalog.problems)


def test_manifests_out_of_the_project_are_not_read(root: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "package.json"
    elsewhere.write_text(json.dumps({"dependencies": {"left-pad": "1"}}))
    (root / "package.json").symlink_to(elsewhere)
    assert scan_project(root).has_dependency("left-pad") is None
    assert "outside the project" in problems_of(root)["package.json"]


def test_read_bounded_never_reads_past_its_limit(tmp_path: Path) -> None:
    big = tmp_path / "CLAUDE.md"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # 50 MB (sparse)
    data, more = read_bounded(big, 1000, tmp_path)
    assert len(data) == 1000 and more
    memory = load_memory(tmp_path)
    assert memory == [] or (memory[0].truncated and len(memory[0].text) <= 64 * 1024)
    with pytest.raises(Refused):
        read_bounded(tmp_path, 10)  # a folder


def test_a_50_mb_claude_md_is_read_only_to_its_limit(root: Path) -> None:
    line = "Use the repository pattern for data access.\n"
    (root / "CLAUDE.md").write_text(line * (50 * 1024 * 1024 // len(line)))
    [memory] = load_memory(root)
    assert memory.truncated and len(memory.text.encode()) <= 64 * 1024


# -- secrets in project memory -------------------------------------------------------------------


def test_secrets_in_memory_are_redacted_and_named_without_their_value(root: Path) -> None:
    (root / "CLAUDE.local.md").write_text(f"# Local notes\n\nDeploy with token {GITHUB_TOKEN}\n")
    [memory] = load_memory(root)
    assert GITHUB_TOKEN not in memory.text and "[REDACTED:" in memory.text
    assert memory.redacted and "line 3" in memory.redacted[0]
    catalog = load_catalog(root)
    [note] = catalog.redacted
    assert note.path == root / "CLAUDE.local.md" and "redacted" in note.why and "line 3" in note.why
    assert GITHUB_TOKEN not in note.why and GITHUB_TOKEN[4:12] not in note.why


def test_memory_with_no_secret_goes_as_it_is(root: Path) -> None:
    text = 'password = request.form["password"]  # how the login view reads it'
    (root / "CLAUDE.md").write_text(text + "\n")
    [memory] = load_memory(root)
    assert memory.text == text and memory.redacted == ()
    assert load_catalog(root).redacted == []


def test_ask_sends_neither_the_environment_nor_the_token(online: FakeAnthropic, root: Path, outside: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Through the real SDK to the fake API: what reaches the request log is what counts."""
    if Path("/proc/self/environ").exists():
        (root / "CLAUDE.md").symlink_to("/proc/self/environ")
    (root / ".claude" / "CLAUDE.md").symlink_to(outside)
    (root / "CLAUDE.local.md").write_text(f"token: {GITHUB_TOKEN}\nRun make test.\n")
    (root / ".claude" / "agents" / "backend.md").symlink_to(outside)
    assert ask("-C", str(root), "--no-history", "how do I run the tests?") == 0
    [request] = online.message_requests()
    sent = json.dumps(request.body)
    assert GITHUB_TOKEN not in sent and OUTSIDE_SECRET not in sent
    assert "ANTHROPIC_API_KEY" not in sent and os.environ["ANTHROPIC_API_KEY"] not in sent
    assert "Run make test." in sent and "[REDACTED:" in sent
    err = capsys.readouterr().err
    assert "could not be used" in err  # ask points at /problems
    assert any("CLAUDE.local.md" in line and "redacted" in line for line in err.splitlines())
    assert GITHUB_TOKEN not in err


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_gitignore_symlinked_out_of_the_project_is_not_used(root: Path, tmp_path: Path) -> None:
    from buddy_tui.context.folder import IgnoreRules

    (tmp_path / "their.gitignore").write_text("*.py\n")
    (root / ".gitignore").symlink_to(tmp_path / "their.gitignore")
    rules = IgnoreRules(root)
    assert not rules.is_ignored(root / "app.py")
    assert "outside the project" in rules.capped[root / ".gitignore"]
