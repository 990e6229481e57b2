"""Paths whose change is always asked about, whatever was allowed before.

A repository can ask the model to rewrite the files that steer the model itself, the editor or
git: agent settings and memory, persona files, IDE tasks (which run code), git hooks and ignore
rules (a ``.gitignore`` of ``*`` hides every new file from review), shell start-up files. Like
Claude Code's protected paths, a change to one of them is never approved by "allow for this
conversation", by a remembered permission or by ``--allow-edits``: the person is asked each time.
The set lives here, once.
"""

from __future__ import annotations

import re

#: Folders (any path component, any case) whose files are protected, with what they hold.
PROTECTED_FOLDERS: dict[str, str] = {
    ".git": "git's own data",
    ".claude": "agent configuration",
    ".buddy": "buddy-tui configuration",
    ".vscode": "editor configuration that can run commands",
    ".idea": "editor configuration that can run commands",
    ".husky": "git hooks",
    ".github": "CI workflows",
    ".devcontainer": "development container configuration",
}

#: File names (any folder, any case) that are protected, with what they are.
PROTECTED_FILES: dict[str, str] = {
    "claude.md": "agent memory",
    "claude.local.md": "agent memory",
    "agents.md": "agent memory",
    ".mcp.json": "agent configuration",
    ".claude.json": "agent configuration",
    ".gitignore": "git configuration",
    ".gitattributes": "git configuration",
    ".gitmodules": "git configuration",
    ".gitconfig": "git configuration",
    ".pre-commit-config.yaml": "git hooks",
    ".envrc": "a shell start-up file",
    ".bashrc": "a shell start-up file",
    ".bash_profile": "a shell start-up file",
    ".bash_login": "a shell start-up file",
    ".bash_logout": "a shell start-up file",
    ".profile": "a shell start-up file",
    ".zshrc": "a shell start-up file",
    ".zshenv": "a shell start-up file",
    ".zprofile": "a shell start-up file",
    ".zlogin": "a shell start-up file",
    ".ripgreprc": "tool configuration",
}

_SEPARATORS = re.compile(r"[\\/]")


def protected_reason(*paths: str) -> str:
    """What makes a change to any of ``paths`` (project-relative, as given and as resolved)
    always asked about, e.g. "agent configuration"; "" when nothing does."""
    for path in paths:
        parts = [part.lower() for part in _SEPARATORS.split(path) if part]
        for folder in parts[:-1]:
            if folder in PROTECTED_FOLDERS:
                return PROTECTED_FOLDERS[folder]
        if parts and parts[-1] in PROTECTED_FILES:
            return PROTECTED_FILES[parts[-1]]
        if parts and parts[-1] in PROTECTED_FOLDERS:  # the folder itself, as a file name
            return PROTECTED_FOLDERS[parts[-1]]
    return ""
