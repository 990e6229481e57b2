"""Choosing the expert: a table of questions and projects, and the rules around it."""

from __future__ import annotations

from pathlib import Path

import pytest

from buddy_tui.context.project import ProjectFacts, scan_project
from buddy_tui.personas.activation import choose, score
from buddy_tui.personas.persona import Persona, bundled_personas, load_persona
from buddy_tui.personas.triggers import from_prose
from tests.helpers import seed_persona

PERSONAS = bundled_personas()
ALL = list(PERSONAS.values())
FASTAPI = ProjectFacts({"fastapi": "pyproject.toml", "sqlalchemy": "pyproject.toml"}, frozenset({"alembic.ini"}))
INFRA = ProjectFacts({"boto3": "requirements.txt"}, frozenset({"dockerfile", "terraform", ".github/workflows"}))
EMPTY = ProjectFacts()


@pytest.mark.parametrize(
    ("question", "files", "facts", "current", "expected", "reason"),
    [
        ("design a paginated /users endpoint", [], FASTAPI, "backend", "backend", "kept"),
        ("which database index does the orders table need?", ["app/models.py"], FASTAPI, "devops", "backend",
         "switched"),
        ("is this login form vulnerable to SQL injection or XSS?", ["app/auth/login.py"], FASTAPI, "backend",
         "security", "switched"),
        ("where do we leak the JWT secret?", [], EMPTY, "backend", "security", "switched"),
        ("the checkout is slow, p99 latency doubled", ["app/checkout.py"], FASTAPI, "backend", "performance",
         "switched"),
        ("we have an N+1 in the orders list", [], FASTAPI, "backend", "performance", "switched"),
        ("write a Dockerfile and a deploy pipeline for this", [], INFRA, "backend", "devops", "switched"),
        ("how should the helm rollout handle a failed readiness probe?", ["k8s/deploy.yaml"], INFRA, "security",
         "devops", "switched"),
        ("rename this variable please", ["app/models.py"], FASTAPI, "security", "security", "no signal"),
        ("thanks!", [], EMPTY, "performance", "performance", "no signal"),
        ("add a database migration for the new column", ["migrations/0042.py"], FASTAPI, "backend", "backend",
         "kept"),
    ],
)
def test_question_table(question: str, files: list[str], facts: ProjectFacts, current: str, expected: str,
                        reason: str) -> None:
    choice = choose(ALL, PERSONAS[current], question, files, facts)
    assert (choice.persona.name, choice.reason) == (expected, reason), [m.explain() for m in choice.ranking]


def test_a_pinned_persona_is_never_overridden() -> None:
    choice = choose(ALL, PERSONAS["backend"], "is this vulnerable to XSS?", [], EMPTY, pinned=True)
    assert choice.persona.name == "backend" and choice.reason == "pinned"
    assert choice.ranking[0].persona.name == "security"  # the ranking is still shown


def test_explanation_names_words_files_and_project_clues() -> None:
    match = score(PERSONAS["backend"], "add an endpoint that reads the database", ["app/models.py"], FASTAPI)
    assert match.explain() == ("backend 99%: 'endpoint', 'database'; *.py, **/*model*; "
                               "fastapi in pyproject.toml, sqlalchemy in pyproject.toml")
    assert 0.9 <= match.confidence <= 0.99
    medium = score(PERSONAS["backend"], "how should we version the schema?", [], EMPTY)
    assert 0.7 <= medium.confidence <= 0.89 and medium.related == ("schema", "versioning")
    nothing = score(PERSONAS["backend"], "hello", ["app/models.py"], FASTAPI)
    assert not nothing.has_signal and nothing.confidence <= 0.5


def test_plurals_and_phrases_match() -> None:
    assert score(PERSONAS["backend"], "our APIs and databases", [], EMPTY).keywords == ("api", "database")
    assert score(PERSONAS["performance"], "there is a memory leak", [], EMPTY).keywords == ("memory leak",)
    assert score(PERSONAS["backend"], "microservices everywhere", [], EMPTY).keywords == ("microservice",)
    assert score(PERSONAS["backend"], "customer service desk", [], EMPTY).keywords == ("service",)
    assert score(PERSONAS["security"], "is our JWT handling vulnerable?", [], EMPTY).keywords == ("vulnerability",)
    assert "deploy" in score(PERSONAS["devops"], "we are deploying on friday", [], EMPTY).keywords
    assert score(PERSONAS["backend"], "the apiary is full of bees", [], EMPTY).keywords == ()  # not 'api'
    assert score(PERSONAS["backend"], "a service-level summary", [], EMPTY).keywords == ()  # hyphenated word


def test_seed_style_persona_triggers_come_from_its_prose(tmp_path: Path) -> None:
    persona = load_persona(seed_persona())
    assert persona.triggers.keywords[:3] == ("api", "database", "server")
    assert "*.py" in persona.triggers.files and "express" in persona.triggers.dependencies
    assert "migrations/" in persona.triggers.project_files
    choice = choose([*ALL, persona], PERSONAS["devops"], "review this endpoint", ["app/routes.py"], FASTAPI)
    assert choice.persona.name in ("backend", "persona-backend") and choice.reason == "switched"


def test_agent_without_triggers_section_uses_its_description() -> None:
    description = "Use this agent for slow queries and index design."
    agent = Persona(name="db-tuner", description=description, allowed_tools=(), prompt="Tune databases.",
                    triggers=from_prose(description, "Tune databases."))
    assert {"queries", "index", "design"} <= set(agent.triggers.related)
    assert not agent.triggers.keywords
    match = score(agent, "which index fits these queries?", [], EMPTY)
    assert match.related == ("queries", "index") and 0.7 <= match.confidence <= 0.89


def test_project_manifests_are_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["FastAPI>=0.1", "pyjwt[crypto]"]\n'
                                             '[project.optional-dependencies]\ndev = ["locust"]\n')
    (tmp_path / "requirements-dev.txt").write_text("# tools\n-r requirements.txt\nbandit==1.7\n")
    (tmp_path / "package.json").write_text('{"dependencies": {"express": "4"}, '
                                           '"devDependencies": {"@nestjs/core": "9"}}')
    (tmp_path / "go.mod").write_text("module x\n\nrequire (\n\tgithub.com/gin-gonic/gin v1.9.1\n)\n")
    (tmp_path / "pom.xml").write_text("<project><artifactId>spring-boot-starter-web</artifactId>"
                                      "<artifactId>spring-security-core</artifactId></project>")
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / "broken.json").write_text("{")
    facts = scan_project(tmp_path)
    for name, manifest in [("fastapi", "pyproject.toml"), ("pyjwt", "pyproject.toml"), ("locust", "pyproject.toml"),
                           ("bandit", "requirements-dev.txt"), ("express", "package.json"),
                           ("nestjs", "package.json"), ("gin", "go.mod"), ("spring", "pom.xml"),
                           ("spring-security", "pom.xml")]:
        assert facts.has_dependency(name) == manifest, name
    assert facts.has_dependency("django") is None
    assert facts.has_entry("Dockerfile") and facts.has_entry(".github/workflows/") and not facts.has_entry("k8s/")
