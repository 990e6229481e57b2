"""Choices the app remembers for the user between runs: the theme picked, and the model used last
in each project.

They live in ``state.json`` in the data folder, apart from ``config.toml``: the app writes this
file itself and never touches the user's settings. Writes are atomic and owner-only
(:func:`~buddy_tui.settings.files.write_atomic`); a damaged or unreadable file counts as empty and
is replaced on the next write, so remembering can never stop the app.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buddy_tui.settings.files import write_atomic
from buddy_tui.settings.paths import data_dir

STATE_NAME = "state.json"
STATE_VERSION = 1
#: Projects whose model is remembered; the least recently used go first past this.
MAX_PROJECTS = 200
#: A state file is a few KB; a larger one is not ours and is ignored.
MAX_STATE_BYTES = 1024 * 1024


def state_path() -> Path:
    """``state.json`` in buddy-tui's data folder."""
    return data_dir() / STATE_NAME


def project_key(project_root: Path | str) -> str:
    """How a project is named in the file: its absolute, resolved path."""
    path = Path(project_root).expanduser()
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):
        return str(path.absolute())


@dataclass
class UiState:
    """Remembered UI choices; ``remember_*`` write them at once."""

    path: Path
    theme: str = ""
    #: Project path -> model, least recently used first.
    models: dict[str, str] = field(default_factory=dict)
    #: Project path -> tools allowed "for this conversation", kept for its later conversations too
    #: when the config's remember_tool_permissions is on.
    tools: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None = None) -> UiState:
        """The state at ``path`` (default :func:`state_path`); empty when missing or damaged."""
        path = state_path() if path is None else path
        state = cls(path)
        try:
            with path.open("rb") as handle:
                data: Any = json.loads(handle.read(MAX_STATE_BYTES + 1))
        except (OSError, ValueError, RecursionError):  # missing, unreadable, cut short, not JSON or UTF-8
            return state
        if not isinstance(data, dict):
            return state
        if isinstance(theme := data.get("theme"), str):
            state.theme = theme
        if isinstance(models := data.get("models"), dict):
            state.models = {k: v for k, v in models.items() if isinstance(k, str) and isinstance(v, str) and v}
        if isinstance(tools := data.get("tools"), dict):
            state.tools = {k: sorted({t for t in v if isinstance(t, str)}) for k, v in tools.items()
                           if isinstance(k, str) and isinstance(v, list)}
        return state

    def model_for(self, project_root: Path | str) -> str | None:
        """The model used last in this project, if one was remembered."""
        return self.models.get(project_key(project_root))

    def remember_model(self, project_root: Path | str, model: str) -> str | None:
        """Remember ``model`` for this project; returns why it could not be saved, or None."""
        key = project_key(project_root)

        def change(state: UiState) -> None:
            state.models.pop(key, None)
            state.models[key] = model
            while len(state.models) > MAX_PROJECTS:
                del state.models[next(iter(state.models))]

        return self._update(change)

    def tools_for(self, project_root: Path | str) -> set[str]:
        """The tools allowed for good in this project (see ``tools``)."""
        return set(self.tools.get(project_key(project_root), []))

    def remember_tools(self, project_root: Path | str, names: set[str]) -> str | None:
        """Keep ``names`` as this project's tools allowed for good; returns why it could not be saved."""
        key = project_key(project_root)

        def change(state: UiState) -> None:
            state.tools.pop(key, None)
            if names:
                state.tools[key] = sorted(names)
            while len(state.tools) > MAX_PROJECTS:
                del state.tools[next(iter(state.tools))]

        return self._update(change)

    def remember_theme(self, name: str) -> str | None:
        """Remember the theme picked; returns why it could not be saved, or None."""

        def change(state: UiState) -> None:
            state.theme = name

        return self._update(change)

    def _update(self, change: Callable[[UiState], None]) -> str | None:
        """Apply ``change`` here and to what is on disk now (another window may have written since),
        then write the result."""
        change(self)
        current = UiState.load(self.path)
        change(current)
        try:
            current.save()
        except OSError as exc:
            return f"{self.path} could not be written ({exc.strerror or exc}); the choice lasts until you quit"
        self.theme, self.models, self.tools = current.theme, dict(current.models), dict(current.tools)
        return None

    def save(self) -> None:
        """Write the whole state atomically, readable by the owner only; raises OSError."""
        folder = self.path.parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"version": STATE_VERSION, "theme": self.theme, "models": self.models,
                           "tools": self.tools}, indent=1)
        write_atomic(self.path, text.encode("utf-8"))
