"""Wildmatch patterns from a repository (.gitignore, persona globs) match in linear time, and mean
what git says they mean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pathspec
import pytest
from hypothesis import given, settings, strategies as st

from buddy_tui.context import wildmatch
from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.wildmatch import gitignore_spec

#: 25 stars: Python's re took 9 s on a 30-character name and never finished on longer ones.
BOMB = "*a" * 25 + "b"


def test_a_catastrophic_gitignore_pattern_cannot_freeze_the_tree(tmp_path: Path) -> None:
    """In a child process with a deadline, so the old code fails instead of hanging the suite."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".gitignore").write_text(f"{BOMB}\n*.log\n")
    code = ("import sys; from pathlib import Path; from buddy_tui.context.folder import IgnoreRules\n"
            "root = Path(sys.argv[1]); rules = IgnoreRules(root)\n"
            "print(rules.is_ignored(root / ('a' * 200)), rules.is_ignored(root / 'x.log'),"
            " rules.is_ignored(root / ('a' * 60 + 'b')))")
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "True"]


def test_without_re2_too_wild_patterns_are_left_out_and_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wildmatch, "_re2", lambda: None)
    (tmp_path / ".gitignore").write_text(f"{BOMB}\n*.log\n!keep.log\n")
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored(tmp_path / "x.log") and not rules.is_ignored(tmp_path / "keep.log")
    assert not rules.is_ignored(tmp_path / ("a" * 200))  # returns: the bomb was not used
    assert "1 pattern(s) with too many wildcards not used" in rules.capped[tmp_path / ".gitignore"]


def test_invalid_patterns_are_left_out_and_the_rest_apply() -> None:
    spec, dropped = gitignore_spec(["\\", "*.log", "!keep.log"])
    assert dropped == ["\\"]
    assert spec.check("a.log") is True and spec.check("keep.log") is False and spec.check("a.py") is None


def test_more_patterns_than_one_re2_set_holds_keep_gits_order() -> None:
    """RE2 compiles a set of limited size; the patterns are split, and the last match still decides."""
    wild = [f"**/x*y*z{i}/**/*a*b*c{i}" for i in range(1500)]
    spec, dropped = gitignore_spec(["*.tmp", *wild, "!keep.tmp"])
    assert dropped == [] and len(spec.parts) > 1
    assert spec.check("deep/x.tmp") is True and spec.check("deep/keep.tmp") is False
    assert spec.check("q/x1y2z7/r/s/1a2b3c7") is True and spec.check("q/x1y2z7/r/s/1a2b3c8") is None


def test_names_that_are_not_utf8_are_matched() -> None:
    spec, _ = gitignore_spec(["*.tmp", "caf?/"])
    assert spec.check("caf\udce9.tmp") is True
    assert spec.check("caf\udce9/") is True


_PIECES = st.sampled_from(["a", "b", "*", "**", "/", "?", ".", "[ab]", "!", "x"])


@settings(max_examples=150, deadline=None)
@given(patterns=st.lists(st.lists(_PIECES, min_size=1, max_size=6).map("".join), min_size=1, max_size=5),
       name=st.lists(st.sampled_from(["a", "b", "x", "/", "."]), min_size=1, max_size=12).map("".join))
def test_the_verdict_is_pathspecs_own(patterns: list[str], name: str) -> None:
    """Whatever the engine, a path is ignored exactly when pathspec's git rules say so."""
    try:
        reference = pathspec.GitIgnoreSpec.from_lines(patterns, backend="simple")
    except Exception:
        return  # git would reject a pattern: covered above
    spec, dropped = gitignore_spec(patterns)
    if dropped:
        return
    assert spec.check(name) == reference.check_file(name).include
