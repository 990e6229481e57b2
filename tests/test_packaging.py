"""The shipped package: entry points, the core's independence from Textual, and the wheel."""

from __future__ import annotations

import os
import site
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from buddy_tui import __version__

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=env, timeout=300, check=False,
                          stdin=subprocess.DEVNULL)


#: Every package below the UI: none may load Textual, whatever is imported.
BELOW_UI = ("personas", "context", "conversation", "tools", "store", "settings", "display", "headless")


def test_nothing_below_the_ui_imports_textual() -> None:
    code = ("import sys, pkgutil, importlib\n"
            f"packages = {BELOW_UI!r}\n"
            "count = 0\n"
            "for name in packages:\n"
            "    package = importlib.import_module('buddy_tui.' + name)\n"
            "    for m in pkgutil.iter_modules(package.__path__):\n"
            "        importlib.import_module(f'buddy_tui.{name}.{m.name}'); count += 1\n"
            "import buddy_tui.cli\n"
            "bad = sorted(n for n in sys.modules if n == 'textual' or n.startswith('textual.'))\n"
            "print(count, bad)")
    result = run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    count, bad = result.stdout.strip().split(" ", 1)
    assert int(count) >= 30 and bad == "[]"


def test_version_help_and_module_entry_point() -> None:
    version = run(sys.executable, "-m", "buddy_tui", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"buddy-tui {__version__}"
    help_text = run(sys.executable, "-m", "buddy_tui", "--help").stdout
    for option in ("--persona", "--model", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL"):
        assert option in help_text


def test_bad_arguments_are_one_plain_line(tmp_path: Path) -> None:
    missing = run(sys.executable, "-m", "buddy_tui", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"buddy-tui: error: {tmp_path / 'nope'}: no such folder"
    broken = tmp_path / "broken.md"
    broken.write_text("---\nname: half-written\ndescription: saved mid-edit\n")
    bad_persona = run(sys.executable, "-m", "buddy_tui", str(tmp_path), "--persona", str(broken))
    assert bad_persona.returncode == 2
    assert bad_persona.stderr.startswith(f"buddy-tui: error: {broken}:1: front matter opened with '---' is never")
    assert "Traceback" not in bad_persona.stderr


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_finds_the_persona(tmp_path: Path) -> None:
    """Build the wheel and install it (not editable) into a new virtual environment, all offline.

    The wheel is built without build isolation and installed with --no-index, so nothing is
    fetched; the new environment borrows only the third-party dependencies from this one (a .pth
    file placed after its own site-packages), so buddy_tui itself can only come from the wheel.
    """
    dist = tmp_path / "dist"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                "-w", str(dist), str(ROOT))
    assert built.returncode == 0, built.stdout + built.stderr
    wheel = next(dist.glob("buddy_tui-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"buddy_tui/bundled/personas/backend.md", "buddy_tui/bundled/commands/buddy/api.md",
            "buddy_tui/ui/app.tcss"} <= names
    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    installed = run(str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    fresh_site = Path(run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
                      .stdout.strip())
    (fresh_site / "zz_borrowed_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    listed = run(str(env_dir / "bin" / "buddy-tui"), "--list-personas", cwd=outside, env=clean_env)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()}
    assert set(rows) >= {"backend", "security", "performance", "devops"}
    path = Path(rows["backend"][1])
    assert path.is_relative_to(fresh_site) and path.name == "backend.md"
    commands = run(str(python), "-c", "from buddy_tui.personas.commands import CommandRegistry as R; "
                   "print(sorted(c.name for c in R.default().all() if c.kind == 'prompt'))", cwd=outside,
                   env=clean_env)
    assert commands.stdout.count("buddy:") == 6, commands.stderr
