"""config.toml: every setting read and checked, variables over the file, each problem named, and the
settings reaching the model settings, the context budget, the sensitive-file check and the session."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from platformdirs import user_config_path

from buddy_tui.context import attachments as context
from buddy_tui.context.attachments import is_sensitive, set_user_sensitive_patterns
from buddy_tui.context.budget import context_window
from buddy_tui.conversation.session import open_session
from buddy_tui.personas.frontmatter import DefinitionError
from buddy_tui.settings.config_file import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_MODEL,
    SETTINGS,
    UserConfig,
    config_path,
    config_template,
    load_config,
    toml_value,
)
from buddy_tui.settings.model_settings import Settings

VARIABLES = ("BUDDY_TUI_MODEL", "BUDDY_TUI_MAX_TOKENS", "BUDDY_TUI_PERSONA", "BUDDY_TUI_THEME",
             "BUDDY_TUI_CONTEXT_BUDGET")


@pytest.fixture(autouse=True)
def no_overrides(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No BUDDY_TUI_* setting from the developer's shell, and no sensitive patterns left behind."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield
    set_user_sensitive_patterns(())


def write(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_where_the_file_lives(tmp_path: Path) -> None:
    assert config_path({"BUDDY_TUI_CONFIG_DIR": str(tmp_path)}) == tmp_path / "config.toml"
    assert config_path({}) == user_config_path("buddy-tui") / "config.toml"


def test_no_file_means_defaults_and_no_problems(tmp_path: Path) -> None:
    config, problems = load_config(tmp_path / "config.toml", env={})
    assert problems == []
    assert config == UserConfig()
    assert (config.model, config.max_tokens, config.default_persona) == (DEFAULT_MODEL, DEFAULT_MAX_TOKENS, "backend")
    assert (config.theme, config.keymap, config.context_budget) == ("", {}, 200_000)
    assert (config.sensitive_patterns, config.remember_tool_permissions) == ((), False)
    assert {config.source_of(s.name) for s in SETTINGS} == {"default"}


def test_every_setting_is_read_from_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "claude-opus-test"\nmax_tokens = 1024\ndefault_persona = "personas/mine.md"\n'
                           'theme = "nord"\ncontext_budget = 50000\nsensitive_patterns = ["*.vault", " "]\n'
                           'remember_tool_permissions = true\nmax_parallel_agents = 2\n'
                           '[keymap]\n"app.quit" = " ctrl+q,f10 "\n')
    config, problems = load_config(path, env={})
    assert problems == []
    assert config == UserConfig(model="claude-opus-test", max_tokens=1024,
                                default_persona=str(tmp_path / "personas" / "mine.md"), theme="nord",
                                context_budget=50_000, sensitive_patterns=("*.vault",),
                                remember_tool_permissions=True, max_parallel_agents=2,
                                keymap={"app.quit": "ctrl+q,f10"})
    assert {config.source_of(s.name) for s in SETTINGS} == {"config.toml"}


@pytest.mark.parametrize(("line", "problem"), [
    ('max_tokens = "lots"', "config.toml: max_tokens must be a whole number above 0, not 'lots'; using 8192"),
    ("max_tokens = 0", "config.toml: max_tokens must be a whole number above 0, not 0; using 8192"),
    ("max_tokens = true", "config.toml: max_tokens must be a whole number above 0, not true; using 8192"),
    ("context_budget = 1.5", "config.toml: context_budget must be a whole number above 0, not 1.5; using 200000"),
    ("model = 42", 'config.toml: model must be text in quotes, not empty, not 42; using "claude-sonnet-5-5"'),
    ('model = "  "', "config.toml: model must be text in quotes, not empty, not '  '; using \"claude-sonnet-5-5\""),
    ("default_persona = []", 'config.toml: default_persona must be text in quotes, not []; using "backend"'),
    ("theme = 5", "config.toml: theme must be text in quotes, not 5; using the built-in one"),
    ("sensitive_patterns = 5", 'config.toml: sensitive_patterns must be a list of patterns in quotes, '
     "such as [\"*.vault\"], not 5; using []; only the built-in patterns apply"),
    ('remember_tool_permissions = "yes"',
     "config.toml: remember_tool_permissions must be true or false, not 'yes'; using false"),
    ('keymap = "ctrl+q"', "config.toml: keymap must be a table of binding id = \"keys\", not 'ctrl+q'; using {}"),
    ('keymap = { "app.help" = 4 }', 'config.toml: keymap "app.help" must be keys in quotes such as "ctrl+q,f10", '
     "not 4; that binding keeps its usual keys"),
    ('modle = "x"', "config.toml: unknown setting 'modle' (did you mean 'model'?); ignored"),
    ("colour = 1", "config.toml: unknown setting 'colour' (the settings are model, max_tokens, default_persona, "
     "theme, context_budget, sensitive_patterns, remember_tool_permissions, max_parallel_agents, keymap); ignored"),
    ('"\\u001b[2J" = 1', "config.toml: unknown setting '\\x1b[2J' (the settings are model, max_tokens, "
     "default_persona, theme, context_budget, sensitive_patterns, remember_tool_permissions, "
     "max_parallel_agents, keymap); ignored"),
])
def test_a_wrong_value_is_named_and_that_setting_keeps_its_default(tmp_path: Path, line: str, problem: str) -> None:
    path = write(tmp_path, f'{line}\ncontext_budget = 9000\n' if "context_budget" not in line else line + "\n")
    config, problems = load_config(path, env={})
    assert problems == [problem]
    key = line.split(" = ")[0]
    if key in UserConfig.__dataclass_fields__:
        assert getattr(config, key) == getattr(UserConfig(), key)
        assert config.source_of(key) == "default"
    if "context_budget" not in line:
        assert config.context_budget == 9000  # the rest of the file still counts


def test_good_keymap_entries_survive_a_bad_one(tmp_path: Path) -> None:
    path = write(tmp_path, '[keymap]\n"app.quit" = "f10"\n"app.help" = ""\n')
    config, problems = load_config(path, env={})
    assert config.keymap == {"app.quit": "f10"} and config.source_of("keymap") == "config.toml"
    assert problems == ['config.toml: keymap "app.help" must be keys in quotes such as "ctrl+q,f10", not \'\'; '
                        "that binding keeps its usual keys"]


def test_a_file_that_cannot_be_parsed_names_the_line_and_uses_every_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "claude-x"\n\nmax_tokens = = 3\n')
    config, problems = load_config(path, env={})
    assert config == UserConfig()
    assert problems == [f"{path}, line 3: not valid TOML (Invalid value); every setting uses its default"]


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    config, problems = load_config(tmp_path / "config.toml", env={})
    assert config == UserConfig()
    assert problems == [f"{tmp_path / 'config.toml'}: is a folder, not a file; every setting uses its default"]
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'model = "x"\ntheme = "caf\xe9"\n')
    assert load_config(latin, env={}) == (UserConfig(), [f"{latin}, line 2: is not UTF-8 text; every setting "
                                                         "uses its default"])
    huge = tmp_path / "huge.toml"
    huge.write_text("# x\n" * 70_000, encoding="utf-8")
    assert load_config(huge, env={})[1] == [f"{huge}: is over 256 KB, too big for a settings file; every setting "
                                            "uses its default"]


def test_variables_win_over_the_file_and_a_bad_one_keeps_the_files_value(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "from-file"\nmax_tokens = 2048\ntheme = "nord"\ncontext_budget = 7000\n')
    env = {"BUDDY_TUI_MODEL": " from-env ", "BUDDY_TUI_MAX_TOKENS": "lots", "BUDDY_TUI_PERSONA": "security",
           "BUDDY_TUI_THEME": "", "BUDDY_TUI_CONTEXT_BUDGET": "5000"}
    config, problems = load_config(path, env=env)
    assert (config.model, config.source_of("model")) == ("from-env", "$BUDDY_TUI_MODEL")
    assert (config.max_tokens, config.source_of("max_tokens")) == (2048, "config.toml")
    assert (config.default_persona, config.source_of("default_persona")) == ("security", "$BUDDY_TUI_PERSONA")
    assert (config.theme, config.source_of("theme")) == ("nord", "config.toml")  # empty means unset
    assert (config.context_budget, config.source_of("context_budget")) == (5000, "$BUDDY_TUI_CONTEXT_BUDGET")
    assert problems == ["$BUDDY_TUI_MAX_TOKENS must be a whole number above 0, not 'lots'; using 2048"]


def test_the_variable_for_the_folder_picks_the_file(tmp_path: Path) -> None:
    write(tmp_path, "max_tokens = 777\n")
    assert load_config(env={"BUDDY_TUI_CONFIG_DIR": str(tmp_path)})[0].max_tokens == 777


def test_the_template_documents_every_setting_and_loads_as_the_defaults(tmp_path: Path) -> None:
    template = config_template()
    for setting in SETTINGS:
        assert f"# {setting.metadata['doc']}\n# {setting.name} = " in template
    assert tomllib.loads(template) == {}  # all commented out
    uncommented = "\n".join(line[2:] if line.startswith(tuple(f"# {s.name} =" for s in SETTINGS)) else line
                            for line in template.splitlines())
    assert list(tomllib.loads(uncommented)) == [s.name for s in SETTINGS]
    path = write(tmp_path, uncommented)
    config, problems = load_config(path, env={})
    assert problems == [] and config == UserConfig()
    assert {config.source_of(s.name) for s in SETTINGS} == {"config.toml"}


@pytest.mark.parametrize("text", ["plain", 'quote " and \\ back', "esc\x1b[2J bell\x07 del\x7f csi\x9b nul\x00",
                                  "wide 漢字 and emoji \U0001f600", "line\nbreak\ttab"])
def test_values_are_written_as_toml_that_cannot_drive_a_terminal(text: str) -> None:
    written = toml_value(text)
    assert all(c.isprintable() for c in written)
    assert tomllib.loads(f"v = {written}")["v"] == text
    mapping = {"app.quit": text, "plain_key": "x"}
    assert tomllib.loads(f"v = {toml_value(mapping)}")["v"] == mapping
    assert tomllib.loads(f"v = {toml_value((text, 'b'))}")["v"] == [text, "b"]


# ------------------------------------------------------------------------------- wired in


def test_settings_come_from_the_config_and_model_option_wins(tmp_path: Path) -> None:
    write(tmp_path, 'model = "claude-file"\nmax_tokens = 1000\n')
    env = {"BUDDY_TUI_CONFIG_DIR": str(tmp_path)}
    assert Settings.from_env(env) == Settings("claude-file", 1000)
    assert Settings.from_env(env, model="claude-cli") == Settings("claude-cli", 1000)
    assert Settings.from_env({**env, "BUDDY_TUI_MAX_TOKENS": "64"}) == Settings("claude-file", 64)
    assert Settings.from_config(UserConfig(model="m", max_tokens=5)) == Settings("m", 5)


def test_the_context_budget_comes_from_the_config_and_the_variable_wins(tmp_path: Path) -> None:
    write(tmp_path, "context_budget = 64000\n")
    env = {"BUDDY_TUI_CONFIG_DIR": str(tmp_path)}
    assert context_window(env) == 64_000
    assert context_window({**env, "BUDDY_TUI_CONTEXT_BUDGET": "5000"}) == 5000
    assert context_window({**env, "BUDDY_TUI_CONTEXT_BUDGET": "lots"}) == 64_000


def test_user_patterns_add_to_the_built_in_ones() -> None:
    assert not is_sensitive("prod.vault") and not is_sensitive("deploy/config/prod.yaml")
    assert is_sensitive("prod.vault", ["*.VAULT"])
    set_user_sensitive_patterns(["*.vault", "config/prod.yaml", "  "])
    assert context._user_patterns == ("*.vault", "config/prod.yaml")
    assert is_sensitive("prod.vault") and is_sensitive(Path("/srv/app/prod.vault"))
    assert is_sensitive("config/prod.yaml") and is_sensitive("deploy/config/prod.yaml")
    assert not is_sensitive("config/dev.yaml") and not is_sensitive("prod.yaml")
    assert is_sensitive(".env") and is_sensitive("id_rsa")  # the built-in ones still count
    set_user_sensitive_patterns(())
    assert not is_sensitive("prod.vault")


def test_a_symlink_to_a_user_sensitive_file_is_sensitive(tmp_path: Path) -> None:
    (tmp_path / "prod.vault").write_text("x", encoding="utf-8")
    (tmp_path / "notes.txt").symlink_to(tmp_path / "prod.vault")
    assert not is_sensitive(tmp_path / "notes.txt")
    assert is_sensitive(tmp_path / "notes.txt", ["*.vault"])


def test_the_session_starts_with_the_configured_persona_and_shows_config_problems(claude_project: Path,
                                                                                  tmp_path: Path) -> None:
    path = write(tmp_path, 'default_persona = "db-tuner"\nsensitive_patterns = ["*.vault"]\nmodle = "x"\n')
    config, problems = load_config(path, env={})
    session = open_session(claude_project, None, Settings(), None, "history is off",
                           config=config, config_problems=problems)
    assert session.current.name == "db-tuner" and session.config is config
    assert session.problems == ["history is off",
                                "config.toml: unknown setting 'modle' (did you mean 'model'?); ignored"]
    assert is_sensitive("prod.vault")
    assert open_session(claude_project, "security", Settings(), config=config).current.name == "security"


def test_a_configured_persona_that_cannot_be_had_is_a_problem_not_a_failure(claude_project: Path,
                                                                            tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path, 'default_persona = "astrologer"\n'), env={})
    session = open_session(claude_project, None, Settings(), config=config)
    assert session.current.name == "backend"
    assert len(session.problems) == 1
    assert session.problems[0].startswith("config.toml: default_persona cannot be used (astrologer: no persona of "
                                          "that name (available: ")
    assert session.problems[0].endswith("); starting with backend")
    with pytest.raises(DefinitionError, match="no persona of that name"):  # --persona mistakes still stop
        open_session(claude_project, "astrologer", Settings(), config=config)


def test_the_session_loads_the_users_config_itself(claude_project: Path, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(tmp_path))
    write(tmp_path, "max_tokens = -1\ntheme = \"nord\"\n")
    monkeypatch.setenv("BUDDY_TUI_PERSONA", "security")
    session = open_session(claude_project, None, Settings())
    assert session.current.name == "security" and session.config.theme == "nord"
    assert session.problems == ["config.toml: max_tokens must be a whole number above 0, not -1; using 8192"]


@pytest.mark.parametrize(("line", "kept", "ignored"), [
    ('sensitive_patterns = "*.vault"', ("*.vault",), "'*.vault'"),
    ('sensitive_patterns = ["*.vault", 3, "prod/*.yaml"]', ("*.vault", "prod/*.yaml"), "['*.vault', 3, 'prod/*.yaml']"),
    ('sensitive_patterns = [["*.vault"]]', (), "[['*.vault']]"),
    ("sensitive_patterns = { a = 1 }", (), "{'a': 1}"),
])
def test_wrongly_typed_sensitive_patterns_keep_what_they_can_and_say_so(
        tmp_path: Path, line: str, kept: tuple[str, ...], ignored: str) -> None:
    """A security setting written wrongly must not protect fewer files than the user wrote: the
    patterns that can be read still count, and a warning (the config-problem path: the app's chat
    and ask's stderr) names the wrong value and what is used instead."""
    config, problems = load_config(write(tmp_path, line + "\n"), env={})
    assert config.sensitive_patterns == kept
    assert len(problems) == 1
    assert problems[0].startswith("config.toml: sensitive_patterns must be a list of patterns in quotes")
    assert f"not {ignored}; using [" in problems[0]
    set_user_sensitive_patterns(config.sensitive_patterns)
    assert is_sensitive("prod.vault") is bool(kept)
