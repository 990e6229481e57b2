"""What makes a persona the right expert: keywords, file patterns and project clues.

A persona states them either in its front matter (a ``triggers`` mapping) or, as the original
Claude Buddy personas do, in prose: a triggers section with high- and medium-confidence
subsections and context clues. Both are read into the same :class:`Triggers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Words too common to say anything about which expert fits.
_STOP = frozenset(
    """
    about above after again against also among and any
    are around because been before being below between both but can code could designing discussions
    does doing during each either from further have having here into its just keep keeping like look
    make many mentioned more most much must need needs other over requirements same should some such
    than that the their them then there these they this those through under until upon very want what
    when where which while who will with work working would your across present used using such
    questions talk existing development concerns
    """.split()  # noqa: SIM905 - a word list reads best as words
)

# Prose clues that name files or folders a program can look for.
_CLUE_FILES = {
    "migration": ("migrations/", "alembic/", "alembic.ini", "db/migrate/", "prisma/"),
    "database config": ("database.yml", "ormconfig.json", "knexfile.js", "alembic.ini", "prisma/"),
    "docker": ("Dockerfile", "docker-compose.yml", "compose.yaml"),
    "kubernetes": ("k8s/", "helm/", "charts/"),
    "terraform": ("terraform/", "main.tf"),
    "pipeline": (".github/workflows/", ".gitlab-ci.yml", "Jenkinsfile"),
}
_FILE_HINTS = {"route": "**/*route*", "model": "**/*model*", "migration": "**/migrations/**",
               "schema": "**/*schema*", "controller": "**/*controller*", "handler": "**/*handler*"}


@dataclass(frozen=True)
class Triggers:
    """Signals for one persona; all lowercase except file patterns."""

    keywords: tuple[str, ...] = ()  # high confidence
    related: tuple[str, ...] = ()  # medium confidence
    files: tuple[str, ...] = ()  # globs matched against attached files
    dependencies: tuple[str, ...] = ()  # package names in the project's manifests
    project_files: tuple[str, ...] = ()  # entries at the project root

    @property
    def empty(self) -> bool:
        """No signal at all: such a persona is only ever chosen by hand."""
        return not (self.keywords or self.related)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return ()
    return tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


def from_front_matter(value: Any) -> Triggers | None:
    """A ``triggers:`` mapping; None when absent or not a mapping."""
    if not isinstance(value, dict):
        return None
    lower = {str(k).lower(): v for k, v in value.items()}
    return Triggers(
        keywords=tuple(k.lower() for k in _strings(lower.get("keywords"))),
        related=tuple(k.lower() for k in _strings(lower.get("related"))),
        files=_strings(lower.get("files")),
        dependencies=tuple(k.lower() for k in _strings(lower.get("dependencies"))),
        project_files=_strings(lower.get("project-files")),
    )


def _content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z][a-z0-9+#-]{3,}", text.lower())
    return [w for w in words if w not in _STOP]


def _section(body: str, pattern: str) -> str:
    """The text under the first heading matching ``pattern``, up to the next heading of its level."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading and re.search(pattern, heading.group(2), re.IGNORECASE):
            level = len(heading.group(1))
            rest: list[str] = []
            for following in lines[index + 1:]:
                nxt = re.match(r"^(#{1,6})\s", following)
                if nxt and len(nxt.group(1)) <= level:
                    break
                rest.append(following)
            return "\n".join(rest)
    return ""


def from_prose(description: str, body: str) -> Triggers:
    """Read triggers the way a person would from the description and a triggers section."""
    section = _section(body, r"trigger|activat")
    high = _section(section, r"high")
    medium = _section(section, r"medium")
    context = _section(section, r"context")
    keywords: list[str] = []
    related: list[str] = []
    files: list[str] = []
    for line in high.splitlines():
        label, _, value = line.strip("-* ").partition(":")
        if label.strip().lower() == "keywords":
            quoted = re.findall(r"[\"“']([^\"”']+)[\"”']", value)
            keywords += [q.strip().lower() for q in (quoted or value.split(","))]
        elif "file" in label.lower():
            files += [f"*{ext}" for ext in re.findall(r"(?<![\w*])\.[a-z0-9]{1,5}\b", value.lower())]
            files += [glob for hint, glob in _FILE_HINTS.items() if hint in value.lower()]
        elif line.strip().startswith(("-", "*")):
            related += _content_words(line)
    for line in medium.splitlines():
        if line.strip().startswith(("-", "*")):
            related += _content_words(line)
    dependencies: list[str] = []
    project_files: list[str] = []
    for line in context.splitlines():
        lowered = line.lower()
        named = re.findall(r"\(([^)]*)\)", line) + re.findall(r"such as ([^.;]*)", line)
        for group in named:  # proper names in a list: "(Express, Django, Spring, etc.)"
            dependencies += [w.strip().lower() for w in re.split(r",|\band\b|\bor\b", group)
                             if w.strip()[:1].isupper()]
        for clue, entries in _CLUE_FILES.items():
            if all(part in lowered for part in clue.split()):
                project_files += entries
    if not keywords:  # no explicit list: the description's own words are the best signal left
        related += _content_words(re.split(r"<example>", description, maxsplit=1)[0])
    keyword_set = set(keywords)
    return Triggers(
        keywords=tuple(dict.fromkeys(keywords)),
        related=tuple(w for w in dict.fromkeys(related) if w not in keyword_set),
        files=tuple(dict.fromkeys(files)),
        dependencies=tuple(dict.fromkeys(d for d in dependencies if re.fullmatch(r"[a-z0-9.+-]+", d))),
        project_files=tuple(dict.fromkeys(project_files)),
    )
