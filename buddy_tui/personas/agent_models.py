"""Which model an agent runs on, from its file's ``model:`` value.

Claude Code's agent files say ``opus``, ``sonnet``, ``haiku``, ``inherit`` or a full model id.
A family name resolves the way ``/model`` resolves it (the newest model of that family the SDK
knows); ``inherit`` or no value means the lead's model. Anything else is a mistake in the file:
the agent still runs, on the lead's model, and the mistake is reported (``/problems``).
"""

from __future__ import annotations

from buddy_tui.settings.model_settings import resolve_model

#: The values Claude Code documents for an agent's ``model:`` besides a full model id.
FAMILIES = ("opus", "sonnet", "haiku")
INHERIT = ("inherit", "")


def unknown_model(value: str | None) -> str:
    """What is wrong with ``value`` as an agent's model, or "" when nothing is."""
    text = (value or "").strip()
    lowered = text.lower()
    if lowered in INHERIT or lowered in FAMILIES or lowered.startswith("claude-"):
        return ""
    return (f"'model: {text}' is not a model buddy-tui knows (opus, sonnet, haiku, inherit or a full "
            "model id such as claude-...); the agent runs on the lead's model")


def agent_model(value: str | None, lead: str) -> tuple[str, str]:
    """(model to use, problem text or "") for an agent whose file says ``model: value``, when the
    lead runs on ``lead``."""
    problem = unknown_model(value)
    if problem:
        return lead, problem
    text = (value or "").strip()
    if text.lower() in INHERIT:
        return lead, ""
    if text.lower() in FAMILIES:
        return resolve_model(text, lead), ""
    return text, ""
