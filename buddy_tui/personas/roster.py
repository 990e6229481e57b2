"""Which persona a Task call or ``/consult`` names, and which model it runs on.

Every persona can be launched as an agent. Names are matched exactly (Claude Buddy's
``persona-security`` finds ``security``) or ignoring case, never guessed: a wrong name gets the
list of right ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from buddy_tui.personas.persona import Persona, persona_key
from buddy_tui.settings.model_settings import resolve_model

#: Model values an agent file may give besides a model id (``claude-…``).
MODEL_WORDS = ("inherit", "default", "opus", "sonnet", "haiku")


def agent_model(value: str | None, lead: str) -> tuple[str, str]:
    """The model an agent runs on, and a problem to report ("" when none): ``inherit`` or none is
    the lead's; ``opus``, ``sonnet`` and ``haiku`` the current model of that family; a model id
    itself; anything else the lead's, with a problem naming the value."""
    word = (value or "").strip()
    if not word or word.lower() in MODEL_WORDS or word.lower().startswith("claude-"):
        return resolve_model(word or None, lead), ""
    return lead, f"model '{word}' is not a model buddy-tui knows; the agent runs on the lead's model ({lead})"


def find_agent(name: str, personas: Sequence[Persona]) -> Persona | None:
    """The agent called ``name`` (Claude Buddy's ``persona-security`` finds ``security``), exactly
    or ignoring case; no guessing beyond that: a wrong name gets the list of right ones."""
    wanted = (name or "").strip()
    for key in (wanted, persona_key(wanted)):
        for persona in personas:
            if persona.name == key:
                return persona
    lowered = persona_key(wanted).lower()
    return next((p for p in personas if p.name.lower() == lowered), None)
