"""Which persona a Task call or ``/consult`` names, and which model it runs on
(:func:`agent_model`, from :mod:`buddy_tui.personas.agent_models`).

Every persona can be launched as an agent. Names are matched exactly (Claude Buddy's
``persona-security`` finds ``security``) or ignoring case, never guessed: a wrong name gets the
list of right ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from buddy_tui.personas.agent_models import agent_model as agent_model
from buddy_tui.personas.persona import Persona, persona_key


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
