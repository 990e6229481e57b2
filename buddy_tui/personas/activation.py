"""Choose the right expert for a question, the way the personas' activation triggers describe.

Every persona is scored for the question, the attached files and the project. A keyword from a
persona's high-confidence list puts it at 90% or more, a medium-confidence word at 70-89%, and
further evidence (more keywords, matching files, frameworks in the manifests) raises it within
that band. Files and project clues alone never switch experts: a question with no signal keeps
the current persona, and a pinned persona is never overridden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from buddy_tui.context.project import ProjectFacts
from buddy_tui.personas.persona import Persona
from buddy_tui.personas.triggers import Triggers

if TYPE_CHECKING:
    from buddy_tui.context.wildmatch import WildSpec

HIGH, MEDIUM = 0.90, 0.70
HIGH_CAP, MEDIUM_CAP = 0.99, 0.89
STEP = 0.02  # each further piece of evidence
#: A challenger must beat the current persona by this much to take over.
MARGIN = 0.05


@dataclass(frozen=True)
class Match:
    """How well one persona fits, and why."""

    persona: Persona
    confidence: float
    keywords: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    clues: tuple[str, ...] = ()

    @property
    def has_signal(self) -> bool:
        """True when the question itself named something this persona handles."""
        return bool(self.keywords or self.related)

    def explain(self) -> str:
        """``backend 92%: 'endpoint', 'database'; *.py; fastapi in pyproject.toml``."""
        parts = []
        words = self.keywords + self.related
        if words:
            parts.append(", ".join(f"'{w}'" for w in words[:4]))
        if self.files:
            parts.append(", ".join(self.files[:2]))
        if self.clues:
            parts.append(", ".join(self.clues[:2]))
        reasons = "; ".join(parts) or "no signal"
        return f"{self.persona.name} {round(self.confidence * 100)}%: {reasons}"


@dataclass(frozen=True)
class Choice:
    """The outcome for one question: who answers, and the ranking that led there."""

    persona: Persona
    match: Match | None  # the winning match, None when nothing in the question pointed anywhere
    ranking: tuple[Match, ...] = field(default_factory=tuple)
    reason: str = ""  # 'pinned', 'no signal', 'kept', 'switched'

    @property
    def switched(self) -> bool:
        """True when a different persona than the current one was chosen."""
        return self.reason == "switched"


_SUFFIXES = ("abilities", "ability", "ibility", "ations", "ation", "ments", "ment", "ities", "ity", "ings", "ing",
             "able", "ible", "ions", "ion", "ers", "er", "ies", "es", "ed", "s", "e", "y")


def stem(word: str) -> str:
    """A crude stem, so 'vulnerable' meets 'vulnerability' and 'deploying' meets 'deployment'."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _tokens(text: str) -> set[str]:
    words = set(re.findall(r"[a-z0-9][a-z0-9+#_-]*", text.lower()))
    plurals = {w[:-1] for w in words if w.endswith("s") and len(w) > 3}  # apis -> api
    return words | plurals | {stem(w) for w in words}


def _hits(terms: Iterable[str], tokens: set[str], text: str) -> tuple[str, ...]:
    found = []
    for term in terms:
        if " " in term:
            if re.search(rf"(?<![a-z0-9]){re.escape(term)}s?(?![a-z0-9])", text):
                found.append(term)
        elif term in tokens or (len(term) > 4 and stem(term) in tokens):
            found.append(term)
    return tuple(found)


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> WildSpec:
    """Patterns mean what they mean in .gitignore: '*.py' anywhere, '**/api/**' at any depth."""
    from buddy_tui.context.wildmatch import gitignore_spec  # loaded on first use: not needed for the first paint

    return gitignore_spec([pattern])[0]  # linear-time matching: a persona file's glob cannot freeze the app


def _file_hits(patterns: Sequence[str], files: Sequence[str]) -> tuple[str, ...]:
    return tuple(p for p in patterns if any(_glob(p).check(path) for path in files))


def score(persona: Persona, question: str, files: Sequence[str], facts: ProjectFacts) -> Match:
    """How well ``persona`` fits this question, these attached files and this project."""
    triggers: Triggers = persona.triggers
    text = " ".join(question.lower().split())
    tokens = _tokens(text)
    keywords = _hits(triggers.keywords, tokens, text)
    related = tuple(w for w in _hits(triggers.related, tokens, text) if w not in keywords)
    file_hits = _file_hits(triggers.files, files)
    clues = tuple(f"{dep} in {manifest}" for dep in triggers.dependencies
                  if (manifest := facts.has_dependency(dep)))
    clues += tuple(f"{entry} present" for entry in triggers.project_files if facts.has_entry(entry))
    extra = len(file_hits[:2]) + len(clues[:2])
    if keywords:
        confidence = min(HIGH_CAP, HIGH + STEP * (len(keywords) - 1 + len(related) + extra))
    elif related:
        confidence = min(MEDIUM_CAP, MEDIUM + STEP * (len(related) - 1 + extra))
    else:  # context alone: shown for information, never enough to switch
        confidence = min(0.5, 0.1 * extra)
    return Match(persona, confidence, keywords, related, file_hits, clues)


def choose(
    personas: Sequence[Persona],
    current: Persona,
    question: str,
    files: Sequence[str] = (),
    facts: ProjectFacts | None = None,
    *,
    pinned: bool = False,
) -> Choice:
    """Pick the persona for this question (see the module docstring for the rules)."""
    facts = facts or ProjectFacts()
    ranking = tuple(sorted((score(p, question, files, facts) for p in personas),
                           key=lambda m: (-m.has_signal, -m.confidence, m.persona.name != current.name)))
    own = next((m for m in ranking if m.persona.name == current.name), None)
    if pinned:
        return Choice(current, own, ranking, "pinned")
    best = ranking[0] if ranking and ranking[0].has_signal else None
    if best is None:
        return Choice(current, None, ranking, "no signal")
    if best.persona.name == current.name or (
            own is not None and own.has_signal and best.confidence - own.confidence < MARGIN):
        return Choice(current, own, ranking, "kept")
    return Choice(best.persona, best, ranking, "switched")


def activation_line(typed: str, choice: Choice | None, override: Persona | None) -> str:
    """The line above the prompt: who will answer ``typed``, and why ('' for nothing or a command).
    ``choice`` is only consulted when there is text and no ``override`` (the person's own pick)."""
    text = typed.strip()
    if not text or text.startswith("/"):
        return ""
    if override is not None:
        return f"→ {override.title} (your pick, kept for this conversation: F2 for the next, Esc to undo)"
    if choice is None:
        return ""
    if choice.reason == "pinned":
        return f"→ {choice.persona.title} 📌 pinned (F3 to unpin)"
    if choice.match is None:
        return f"→ {choice.persona.title} (no signal in the question; F2 to pick another)"
    verb = "takes over" if choice.switched else "answers"
    return f"→ {choice.persona.title} {verb} · {choice.match.explain()} · F2 other · F3 pin"


def next_pick(choice: Choice, shown: Persona | None) -> Persona | None:
    """F2: the expert after ``shown`` (else after the chosen one) in the ranking; None without one."""
    ranking = [m.persona for m in choice.ranking]
    if not ranking:
        return None
    current = shown or choice.persona
    index = next((i for i, p in enumerate(ranking) if p.name == current.name), -1)
    return ranking[(index + 1) % len(ranking)]
