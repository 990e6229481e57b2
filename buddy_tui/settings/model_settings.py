"""What a session needs to talk to the model: which model, how long a reply may be.

A model named in a persona or command file (``inherit``, ``sonnet``...) is resolved here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from buddy_tui.settings.config_file import DEFAULT_MAX_TOKENS, DEFAULT_MODEL

if TYPE_CHECKING:
    from buddy_tui.settings.config_file import UserConfig



def resolve_model(name: str | None, default: str) -> str:
    """A model named in a persona or command file, as the API knows it.

    Claude Code files say ``inherit`` (use the session's model) or a family alias such as
    ``sonnet``; an alias becomes the newest model of that family the installed SDK lists.
    """
    if not name or name.strip().lower() in ("inherit", "default"):
        return default
    alias = name.strip().lower()
    if alias in ("sonnet", "opus", "haiku"):
        from typing import get_args

        from anthropic.types import Model

        known = [v for arg in get_args(Model) for v in get_args(arg) if isinstance(v, str)]
        family = [m for m in known if m.startswith(f"claude-{alias}-") and not m[-8:].isdigit()]
        return family[0] if family else default
    return name.strip()


@dataclass(frozen=True)
class Settings:
    """What a session needs to talk to the model."""

    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    max_retries: int | None = None  # retries of a failed opening; None: 2 (retries.DEFAULT_MAX_RETRIES)
    timeout: float | None = None  # None: the SDK's default

    @classmethod
    def from_config(cls, config: UserConfig, *, model: str | None = None) -> Settings:
        """Settings from the user's settings (file and variables, already merged), with an
        explicit ``--model`` taking precedence."""
        return cls(model=model or config.model, max_tokens=config.max_tokens)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, model: str | None = None) -> Settings:
        """Settings from config.toml and the ``BUDDY_TUI_*`` variables that override it, with an
        explicit ``--model`` taking precedence. Problems with them are left to whoever loads the
        config for the session (:func:`buddy_tui.conversation.session.open_session` reports them)."""
        from buddy_tui.settings.config_file import load_config

        return cls.from_config(load_config(env=env)[0], model=model)
