"""The code stays ruff- and mypy-clean: part of the suite, so CI enforces it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "buddy_tui", "tests", "screenshots", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_hold() -> None:
    """pyproject's import-linter contracts: the layers, no Textual below the UI, no circles."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_folder_is_crowded() -> None:
    """A folder holds at most 15 modules, so its name still says what is in it."""
    crowded = {d.relative_to(ROOT).as_posix(): n for d in [ROOT / "buddy_tui", *(ROOT / "buddy_tui").rglob("*/")]
               if d.is_dir() and (n := len([f for f in d.glob("*.py") if f.name != "__init__.py"])) > 15}
    assert crowded == {}


def test_no_module_is_too_long_to_read_in_one_sitting() -> None:
    long = {p.relative_to(ROOT).as_posix(): n for p in (ROOT / "buddy_tui").rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert long == {}
