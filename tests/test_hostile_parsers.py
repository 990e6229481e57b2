"""Every parser of repository content meets hostile input: alias bombs, deep nesting, huge files,
binary and invalid UTF-8, wrong types anywhere. Each returns or reports a problem; none raises
or hangs. Bounds are shown by the work done (sizes, counts), never by timing; the one wall-clock
guard is for the alias bomb, whose old behaviour was unbounded (20 s of CPU and 1.5 GB, growing)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from buddy_tui.context.folder import MAX_GITIGNORE_LINES, IgnoreRules
from buddy_tui.context.project import check_files, scan_project
from buddy_tui.personas import frontmatter, frontmatter_cache as metacache
from buddy_tui.personas.catalog import load_catalog
from buddy_tui.personas.commands import load_command
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.personas.persona import load_persona
from buddy_tui.settings.config_file import load_config, toml_value

HOSTILE = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def alias_bomb(depth: int = 9, width: int = 9) -> str:
    """'Billion laughs' in YAML: each level lists the one before ``width`` times."""
    lines = ["name: bomb", "a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]" for i in range(1, depth + 1)]
    return "---\n" + "\n".join(lines) + "\ndescription: boom\n---\nYou are a bomb.\n"


# -- front matter --------------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_quickly_and_small(tmp_path: Path) -> None:
    """In a child process with a memory cap, so the old code's blow-up fails this test instead of
    the machine; 60 s is a guard against the old hang, not a measurement."""
    bomb = tmp_path / "bomb.md"
    bomb.write_text(alias_bomb())
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1_000_000_000, 1_000_000_000))
        from pathlib import Path
        from buddy_tui.personas.frontmatter import DefinitionError
        from buddy_tui.personas.persona import load_persona
        try:
            load_persona(Path({str(bomb)!r}))
        except DefinitionError as exc:
            print("refused:", exc.problem, "line", exc.line)
    """)
    if sys.platform == "win32":
        pytest.skip("resource limits are POSIX")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: front matter uses YAML aliases" in done.stdout and "line 2" in done.stdout


@pytest.mark.parametrize("where", [".claude/agents/bomb.md", ".claude/skills/bomb/SKILL.md",
                                   ".claude/commands/bomb.md", ".buddy/personas/bomb.md"])
def test_an_alias_bomb_anywhere_is_listed_and_the_rest_loads(tmp_path: Path, where: str) -> None:
    root = tmp_path / "repo"
    (root / where).parent.mkdir(parents=True)
    (root / where).write_text(alias_bomb())
    catalog = load_catalog(root)
    [problem] = [p for p in catalog.problems if p.path == root / where]
    assert "YAML aliases" in problem.why
    assert "backend" in catalog.personas and catalog.commands.get("buddy:api") is not None


@pytest.mark.parametrize("meta", [
    "name: x\nbase: &b {a: 1}\nother:\n  <<: *b\n",  # a merge key needs an alias too
    "name: x\ndescription: &d hello\ntools: *d\n",
    'name: x\ndescription: {"a": &a [1], "b": *a}\n',
])
def test_every_alias_is_refused_even_after_the_lenient_readings(meta: str) -> None:
    with pytest.raises(DefinitionError, match="YAML aliases"):
        frontmatter.parse(f"---\n{meta}---\nBody\n")


def test_an_alias_hidden_behind_invalid_yaml_is_refused_by_the_lenient_reading() -> None:
    """Strict YAML stops at the bad line before the alias; the line-by-line reading then parses each
    field alone, and must not expand the alias there either."""
    text = "---\ndescription: [unclosed\ntools: &t [Read]\nmodel: [*t, *t]\n---\nBody\n"
    with pytest.raises(DefinitionError, match="YAML aliases"):
        frontmatter.parse(text)


def test_the_quoting_retry_turns_aliases_into_plain_text() -> None:
    """Claude Code's retry quotes values with '&' or '*': the alias becomes text, nothing expands."""
    doc = frontmatter.parse("---\ndescription: a: b: c\ntools: &t [Read]\nmodel: *t\n---\nBody\n")
    assert doc.meta == {"description": "a: b: c", "tools": "&t [Read]", "model": "*t"}


def test_stars_and_ampersands_in_text_are_no_aliases() -> None:
    doc = frontmatter.parse('---\nname: x\ndescription: use *args & **kwargs, "*quoted*"\n---\nBody\n')
    assert doc.meta["description"] == 'use *args & **kwargs, "*quoted*"'


def test_front_matter_past_its_cap_is_refused_unparsed() -> None:
    big = "description: " + "x" * (frontmatter.MAX_FRONT_MATTER_CHARS + 10)
    with pytest.raises(DefinitionError, match="front matter is"):
        frontmatter.parse(f"---\n{big}\n---\nBody\n")


@pytest.mark.parametrize("value", ["1" * 5000, "[" * 5000 + "]" * 5000, "{a: " * 3000 + "1" + "}" * 3000],
                         ids=["5000-digits", "deep-list", "deep-mapping"])
def test_values_yaml_reads_but_python_cannot_are_problems(value: str) -> None:
    """A 5,000-digit integer raised ValueError past every handler (the app stopped at start)."""
    try:
        doc = frontmatter.parse(f"---\nname: x\nsize: {value}\n---\nBody\n")
    except DefinitionError:
        return
    assert isinstance(doc.meta, dict)


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30))
yaml_values = st.recursive(yaml_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=30)


@HOSTILE
@given(st.text(max_size=400))
def test_any_text_as_front_matter_parses_or_is_a_problem(text: str) -> None:
    try:
        doc = frontmatter.parse(f"---\n{text}\n---\nBody\n")
    except DefinitionError:
        return
    assert isinstance(doc.meta, dict)


@HOSTILE
@given(yaml_values, st.integers(1, 4))
def test_yaml_of_any_shape_with_shared_parts_parses_or_is_a_problem(value: Any, copies: int) -> None:
    """yaml.dump writes a value used several times as an anchor and aliases to it."""
    import yaml

    meta = {"name": "x", "description": "d", "data": [value] * copies, "again": value}
    text = yaml.safe_dump(meta, allow_unicode=True)
    try:
        doc = frontmatter.parse(f"---\n{text}---\nBody\n")
    except DefinitionError as exc:
        assert "aliases" in exc.problem or "YAML" in exc.problem or "front matter" in exc.problem
        return
    assert doc.meta["name"] == "x"
    metacache.put(text, doc.meta)  # the cache never raises either


@HOSTILE
@given(st.binary(max_size=600), st.sampled_from(["persona", "command"]))
def test_any_bytes_as_a_definition_file_load_or_are_a_problem(tmp_path: Path, data: bytes, kind: str) -> None:
    path = tmp_path / "x.md"
    path.write_bytes(b"---\nname: x\n" + data)
    try:
        if kind == "persona":
            load_persona(path)
        else:
            load_command(path, tmp_path, "project", tmp_path)
    except DefinitionError:
        pass


@HOSTILE
@given(st.integers(2, 12), st.integers(2, 12))
def test_alias_bombs_of_any_size_are_refused(depth: int, width: int) -> None:
    with pytest.raises(DefinitionError, match="aliases"):
        frontmatter.parse(alias_bomb(depth, width))


# -- config.toml ---------------------------------------------------------------------------------


toml_keys = st.sampled_from(["model", "max_tokens", "default_persona", "theme", "context_budget",
                             "sensitive_patterns", "remember_tool_permissions", "keymap", "other"])
toml_values = st.recursive(st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=20)),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), inner, max_size=3),
                           max_leaves=20)


@HOSTILE
@given(st.dictionaries(toml_keys, toml_values, max_size=6))
def test_config_of_any_types_loads_with_problems_never_an_exception(tmp_path: Path, table: dict[str, Any]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("\n".join(f"{key} = {toml_value(value)}" for key, value in table.items()) + "\n")
    config, problems = load_config(path, env={})
    assert all(isinstance(p, str) for p in problems)
    assert all(isinstance(p, str) for p in config.sensitive_patterns)


@HOSTILE
@given(st.binary(max_size=600))
def test_config_of_any_bytes_loads_with_problems_never_an_exception(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(data)
    load_config(path, env={})


def test_deeply_nested_config_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("theme = " + "[" * 50_000 + "]" * 50_000 + "\n")
    _config, problems = load_config(path, env={})
    assert problems and "every setting uses its default" in problems[0]


# -- manifests ---------------------------------------------------------------------------------------


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=4), max_leaves=25)


@HOSTILE
@given(json_values, toml_values, toml_values, toml_values)
def test_manifests_of_any_types_never_crash_the_scan(tmp_path: Path, package: Any, deps: Any, extras: Any,
                                                      poetry: Any) -> None:
    """A valid pyproject.toml with 'dependencies = 5' crashed ask and the app at start."""
    root = tmp_path / "repo"
    root.mkdir(exist_ok=True)
    (root / "package.json").write_text(json.dumps({"dependencies": package, "devDependencies": package}))
    (root / "pyproject.toml").write_text(
        f"[project]\ndependencies = {toml_value(deps)}\noptional-dependencies = {toml_value(extras)}\n"
        f"[tool.poetry]\ndependencies = {toml_value(poetry)}\n")
    (root / "Cargo.toml").write_text(f"dependencies = {toml_value(deps)}\n")
    scan_project(root)
    check_files(root)


@pytest.mark.parametrize(("name", "text"), [
    ("pyproject.toml", "[project]\ndependencies = 5\n"),
    ("pyproject.toml", '[project]\ndependencies = ["fastapi", 5, ["x"]]\noptional-dependencies = ["a"]\n'),
    ("pyproject.toml", '[tool]\npoetry = "x"\n'),
    ("pyproject.toml", '[tool.poetry]\ndependencies = ["a"]\n'),
    ("Cargo.toml", 'dependencies = "serde"\n'),
    ("package.json", '{"dependencies": ["react"]}'),
    ("package.json", "5"),
])
def test_wrong_types_in_manifests_are_skipped(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    facts = scan_project(tmp_path)
    assert isinstance(facts.dependencies, dict)


def test_a_valid_pyproject_with_wrong_types_still_gives_its_good_dependencies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["fastapi>=0.1", 5]\n')
    assert scan_project(tmp_path).has_dependency("fastapi") == "pyproject.toml"


@pytest.mark.parametrize(("name", "text"), [
    ("package.json", "[" * 100_000 + "]" * 100_000),
    ("pyproject.toml", "x = " + "[" * 100_000 + "]" * 100_000),
], ids=["json", "toml"])
def test_deep_nesting_in_a_manifest_is_a_clear_note(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    scan_project(tmp_path)
    [note] = check_files(tmp_path)
    assert note.path == tmp_path / name and "nested deeper than can be read" in note.why


@HOSTILE
@given(st.binary(max_size=800))
def test_manifests_of_any_bytes_never_crash_the_scan(tmp_path: Path, data: bytes) -> None:
    for name in ("package.json", "pyproject.toml", "go.mod", "pom.xml", "build.gradle", "Gemfile", "Cargo.toml",
                 "requirements.txt", "CLAUDE.md"):
        (tmp_path / name).write_bytes(data)
    scan_project(tmp_path)
    check_files(tmp_path)


# -- .gitignore ------------------------------------------------------------------------------------


def test_a_million_line_gitignore_is_capped_and_said(tmp_path: Path) -> None:
    lines = [f"build{i}/" for i in range(1_000_000)]
    (tmp_path / ".gitignore").write_text("\n".join(["*.log", *lines]) + "\n")
    (tmp_path / "app.log").write_text("x")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored(tmp_path / "app.log")  # its first lines still count
    spec = rules.spec_for(tmp_path)
    assert spec is not None and len(spec.patterns) <= MAX_GITIGNORE_LINES
    assert "only its first" in rules.capped[tmp_path / ".gitignore"]


@HOSTILE
@given(st.lists(st.text(max_size=30), max_size=30), st.text(min_size=1, max_size=20))
def test_any_gitignore_lines_answer_without_raising(tmp_path: Path, lines: list[str], name: str) -> None:
    (tmp_path / ".gitignore").write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
    rules = IgnoreRules(tmp_path)
    safe = name.replace("/", "_").replace("\x00", "_").strip() or "x"
    if safe in (".", ".."):
        safe = "x"
    rules.is_ignored(tmp_path / safe)
