"""``buddy-tui config path|show|init``: in-process through cli.main, and once as a real process; a
credential is reported as set or not, and its value never appears."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from buddy_tui import cli
from buddy_tui.settings.config_file import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-ant-config-test-0123456789abcdef"
VARIABLES = ("BUDDY_TUI_MODEL", "BUDDY_TUI_MAX_TOKENS", "BUDDY_TUI_PERSONA", "BUDDY_TUI_THEME",
             "BUDDY_TUI_CONTEXT_BUDGET")


@pytest.fixture
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty config folder of our own, and no BUDDY_TUI_* setting from the developer's shell."""
    folder = tmp_path / "config"
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(folder))
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["config", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_path_prints_where_the_file_is(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "path") == (0, f"{config_dir / 'config.toml'}\n", "")


def test_show_with_defaults(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == (f"Settings file: {config_dir / 'config.toml'} (none yet: 'buddy-tui config init' "
                        "writes one)")
    assert 'model = "claude-sonnet-5-5"    (default)' in lines
    assert "max_tokens = 8192    (default)" in lines
    assert "keymap = {}    (default)" in lines
    for setting in SETTINGS:
        assert f"    {setting.metadata['doc']}" in lines
    assert "Problems:" not in out
    assert lines[-4:] == ["  ANTHROPIC_API_KEY: not set", "  ANTHROPIC_AUTH_TOKEN: not set",
                          "  ANTHROPIC_PROFILE: not set", "  endpoint: https://api.anthropic.com"]
    assert "Credentials (read by the Anthropic SDK; values are never shown):" in lines


def test_show_says_where_each_value_came_from_and_lists_problems(config_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    config_dir.mkdir()
    (config_dir / "config.toml").write_text('model = "claude-file"\ntheme = "nord\\u001b[2J"\nmax_tokens = "lots"\n'
                                            '[keymap]\n"app.quit" = "f10"\n', encoding="utf-8")
    monkeypatch.setenv("BUDDY_TUI_MODEL", "claude-env")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://user:{KEY}@localhost:8080/v1?key={KEY}")
    code, out, err = run(capsys, "show")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == f"Settings file: {config_dir / 'config.toml'}"
    assert 'model = "claude-env"    ($BUDDY_TUI_MODEL)' in lines
    assert 'theme = "nord\\u001b[2J"    (config.toml)' in lines  # shown escaped, never sent to the terminal
    assert 'keymap = { "app.quit" = "f10" }    (config.toml)' in lines
    assert "max_tokens = 8192    (default)" in lines
    assert lines[lines.index("Problems:") + 1] == ("  - config.toml: max_tokens must be a whole number above 0, "
                                                   "not 'lots'; using 8192")
    assert "  ANTHROPIC_API_KEY: set (hidden)" in lines
    assert "  endpoint: http://localhost:8080/v1" in lines
    assert KEY not in out and "\x1b" not in out


def test_a_broken_endpoint_is_not_repeated(config_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://[{KEY}")
    code, out, _ = run(capsys, "show")
    assert code == 0 and "  endpoint: (not a valid URL)" in out.splitlines() and KEY not in out


def test_init_writes_the_template_once(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config_dir / "config.toml"
    assert run(capsys, "init") == (0, f"Wrote {path}: every setting is listed there, commented out at its "
                                   "default.\n", "")
    assert tomllib.loads(path.read_text(encoding="utf-8")) == {}
    assert "# max_tokens = 8192" in path.read_text(encoding="utf-8")
    path.write_text("max_tokens = 5\n", encoding="utf-8")
    assert run(capsys, "init") == (2, "", f"buddy-tui: error: {path} already exists; edit it, or move it away to "
                                   "get a fresh one\n")
    assert path.read_text(encoding="utf-8") == "max_tokens = 5\n"  # never overwritten


def test_init_that_cannot_write_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("BUDDY_TUI_CONFIG_DIR", str(blocker))
    code, out, err = run(capsys, "init")
    assert code == 1 and out == ""
    assert err.startswith(f"buddy-tui: error: {blocker / 'config.toml'} could not be written (")


@pytest.mark.parametrize("args", [[], ["shwo"], ["show", "extra"]])
def test_misuse_exits_2_with_usage(config_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert err.startswith("usage: buddy-tui config [-h] {path,show,init}")


def test_help(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    out = " ".join(out.split())
    assert code == 0 and "never their values" in out and "commented config.toml" in out
    epilog = cli.build_parser().epilog or ""
    assert "'buddy-tui config show'" in epilog and "./config" in epilog


def test_a_folder_named_config_opens_as_a_path(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--persona", "astrologer", "config"]) == 2  # 'config' after options is a folder
    assert "config: no such folder" in capsys.readouterr().err


def test_show_as_a_real_process_never_prints_the_key_nor_loads_textual(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "BUDDY_TUI_"))}
    env.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_AUTH_TOKEN=KEY, BUDDY_TUI_CONFIG_DIR=str(tmp_path),
               PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "buddy_tui", "config", "show"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "  ANTHROPIC_API_KEY: set (hidden)" in done.stdout and "  ANTHROPIC_AUTH_TOKEN: set (hidden)" in done.stdout
    assert KEY not in done.stdout + done.stderr
    probe = ("import sys; from buddy_tui import cli; code = cli.main(['config', 'show']); "
             "print('textual' in sys.modules, code)")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.stdout.splitlines()[-1] == "False 0", done.stderr


@pytest.mark.parametrize("arguments", [["config", "show"], ["config", "path"], ["--list-personas"]])
def test_output_into_a_pipe_closed_early_ends_quietly(tmp_path: Path, arguments: list[str]) -> None:
    """``buddy-tui config show | head -1`` where the reader has gone before anything was written:
    exit status 141, as a shell reports a closed pipe, and no traceback."""
    import subprocess
    import sys

    env = {**os.environ, "BUDDY_TUI_CONFIG_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env=env)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # long before the program (which takes a while to start) writes
    error = process.stderr.read().decode()
    assert process.wait(timeout=30) == 141 and "Traceback" not in error
