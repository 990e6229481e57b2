"""The model's tools: confinement to the project root, Read, Grep, Glob, Edit/Write proposals,
atomic apply and undo, tool definitions and argument checking."""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.tools import workspace as tools_module
from buddy_tui.tools.paths import READ_MAX_BYTES
from buddy_tui.tools.workspace import (
    READ_ONLY,
    TOOL_NAMES,
    ProjectTools,
    ProposedChange,
    ToolError,
    ToolResult,
    propose_change,
    run_read_only,
    tool_definitions,
)

MODELS = '''"""Order models."""
from dataclasses import dataclass


@dataclass
class Order:
    id: int
    user_id: int
    total_cents: int


def load_orders(db, user_id):
    orders = db.query("SELECT * FROM orders WHERE user_id = %s" % user_id)
    # TODO: avoid the N+1 query
    return orders
'''
SECRET = "top secret outside the project\n"


def write(root: Path, relative: str, text: str = "x\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project beside an outside folder, with symlinks that try to lead out of it."""
    project = tmp_path / "project"
    outside = tmp_path / "outside"
    write(outside, "secret.txt", SECRET)
    write(project, ".gitignore", "build/\n*.log\n")
    write(project, "app/models.py", MODELS)
    write(project, "app/__init__.py", "")
    write(project, "app/sub/models_extra.py", "# TODO: more models\n")
    write(project, "main.py", "from app.models import load_orders  # TODO: wire up\n")
    write(project, "README.md", "# Orders service\nA TODO list lives elsewhere.\n")
    write(project, "build/gen.py", "# TODO: generated\n")
    write(project, "debug.log", "TODO: in a log\n")
    write(project, ".env", "API_KEY=abc\n")
    write(project, ".git/config", "[core]\n# TODO in git's own data\n")
    os.symlink(outside, project / "link_out")
    os.symlink(outside / "secret.txt", project / "link_file_out")
    os.symlink("loop", project / "loop")  # loop -> loop itself
    os.symlink(project, outside / "back")  # outside, pointing back into the project
    return project.resolve()


@pytest.fixture
def tools(root: Path) -> ProjectTools:
    return ProjectTools(root, IgnoreRules(root))


# -- confinement ------------------------------------------------------------------------------------

ESCAPES: list[tuple[str, Callable[[Path], Any], str]] = [
    ("parent", lambda r: "../x", "contains '..'"),
    ("parent-deep", lambda r: "a/../../x", "contains '..'"),
    ("absolute", lambda r: "/etc/passwd", "is absolute"),
    ("absolute-inside", lambda r: str(r / "app" / "models.py"), "is absolute"),
    ("home", lambda r: "~/x", "starts with '~'"),
    ("link-dir-out", lambda r: "link_out/secret.txt", "outside the project through the symlink link_out"),
    ("out-and-back", lambda r: "link_out/back/app/models.py", "outside the project through the symlink link_out"),
    ("link-file-out", lambda r: "link_file_out", "outside the project through the symlink link_file_out"),
    ("loop", lambda r: "loop/a", "symlink loop"),
    ("nul", lambda r: "a\x00b", "NUL character"),
    ("too-long", lambda r: "x" * 5000, "too long (5,000 characters"),
    ("long-name", lambda r: "a/" + "y" * 300, "name longer than 255"),
    ("empty", lambda r: "", "is empty"),
    ("none", lambda r: None, "must be a string, not NoneType"),
    ("int", lambda r: 3, "must be a string, not int"),
]


@pytest.mark.parametrize(("make", "reason"), [(make, reason) for _, make, reason in ESCAPES],
                         ids=[name for name, _, _ in ESCAPES])
def test_escape_attempts_are_refused_everywhere(tools: ProjectTools, root: Path, make: Callable[[Path], Any],
                                                reason: str) -> None:
    raw = make(root)
    before = sorted(p.name for p in (root.parent / "outside").iterdir())
    calls: list[Callable[[], object]] = [
        lambda: tools.resolve(raw),
        lambda: tools.read(raw),
        lambda: tools.propose_edit(raw, "top secret", "leaked"),
        lambda: tools.propose_write(raw, "overwritten\n"),
        lambda: tools.is_sensitive(raw),
    ]
    if raw is not None:  # for Grep, no path means the whole project
        calls.append(lambda: tools.grep("secret", path=raw))
    for call in calls:
        with pytest.raises(ToolError) as caught:
            call()
        assert reason in str(caught.value)
    result = run_read_only(tools, "Read", {"path": raw})
    if raw is None:
        assert (result.is_error, result.content) == (True, "Read needs the argument 'path'.")
    else:
        assert result.is_error and reason in result.content and "top secret" not in result.content
    assert sorted(p.name for p in (root.parent / "outside").iterdir()) == before
    assert (root.parent / "outside" / "secret.txt").read_text() == SECRET


def test_resolve_returns_real_paths_inside_the_root(tools: ProjectTools, root: Path) -> None:
    os.symlink("app", root / "app_link")
    os.symlink("app/models.py", root / "models_link.py")
    assert tools.resolve("app/models.py") == root / "app" / "models.py"
    assert tools.resolve("./app//models.py") == root / "app" / "models.py"
    assert tools.resolve("app_link/models.py") == root / "app" / "models.py"
    assert tools.resolve("models_link.py") == root / "app" / "models.py"
    assert tools.resolve("new/folder/file.py") == root / "new" / "folder" / "file.py"  # need not exist
    assert tools.resolve(".") == root
    assert "def load_orders" in tools.read("app_link/models.py").content


def test_glob_patterns_cannot_leave_the_root(tools: ProjectTools) -> None:
    for pattern, reason in (("../*", "contains '..'"), ("/etc/*", "is absolute"), ("", "is empty")):
        with pytest.raises(ToolError, match=re.escape(reason)):
            tools.glob(pattern)


# -- Read -----------------------------------------------------------------------------------------------


def test_read_numbers_every_line(tools: ProjectTools) -> None:
    result = tools.read("app/models.py")
    lines = result.content.split("\n")
    assert lines[0] == '    1\t"""Order models."""'
    assert lines[11] == "   12\tdef load_orders(db, user_id):"
    assert len(lines) == 15 and lines[-1] == "   15\t    return orders"
    assert not result.is_error
    assert result.summary == "Read app/models.py lines 1-15 (287 B)"


def test_read_offset_limit_and_how_to_read_on(tools: ProjectTools, root: Path) -> None:
    write(root, "long.txt", "".join(f"line {n}\n" for n in range(1, 1001)))
    part = tools.read("long.txt", offset=10, limit=3)
    assert part.content.split("\n\n")[0].split("\n") == ["   10\tline 10", "   11\tline 11", "   12\tline 12"]
    assert part.content.endswith("[Showing lines 10-12; long.txt continues (8.7 KB in all). Read on with offset=13.]")
    default = tools.read("long.txt")
    assert default.content.split("\n\n")[0].split("\n")[-1] == "  400\tline 400"
    assert "Read on with offset=401." in default.content
    tail = tools.read("long.txt", offset=999)
    assert tail.content == "  999\tline 999\n 1000\tline 1000"  # the end: no note
    with pytest.raises(ToolError, match=r"^long\.txt has 1,000 lines; offset 1,001 is past the end\.$"):
        tools.read("long.txt", offset=1001)
    with pytest.raises(ToolError, match="offset must be 1 or more"):
        tools.read("long.txt", offset=0)
    with pytest.raises(ToolError, match="limit must be 1 or more"):
        tools.read("long.txt", limit=0)


def test_read_caps_lines_bytes_and_line_length(tools: ProjectTools, root: Path) -> None:
    write(root, "many.txt", "".join(f"{n}\n" for n in range(1, 2601)))
    many = tools.read("many.txt", limit=5000)
    assert many.content.split("\n\n")[0].split("\n")[-1] == " 2000\t2000"
    assert "Read on with offset=2001." in many.content
    write(root, "wide.txt", ("w" * 1000 + "\n") * 400)  # 400 KB: over the byte cap
    wide = tools.read("wide.txt")
    shown = wide.content.split("\n\n")[0].split("\n")
    assert 200 < len(shown) < 400
    assert len(wide.content.encode()) <= READ_MAX_BYTES + 200
    assert f"Read on with offset={len(shown) + 1}." in wide.content
    write(root, "min.js", "a" * 100_000 + "\nsecond\n")
    cut = tools.read("min.js")
    first, second = cut.content.split("\n\n")[0].split("\n")
    assert first == "    1\t" + "a" * 2000 + " …"
    assert second == "    2\tsecond"
    assert "[Lines longer than 2,000 characters are cut and end with ' …'.]" in cut.content


def test_read_refuses_binary_folders_and_missing_files(tools: ProjectTools, root: Path) -> None:
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(ToolError, match=r"^logo\.png is a binary file \(16 B\)\.$"):
        tools.read("logo.png")
    with pytest.raises(ToolError, match=r"^app is a folder; use Glob to list its files\.$"):
        tools.read("app")
    with pytest.raises(ToolError, match=r"^app/nope\.py does not exist\. Use Glob"):
        tools.read("app/nope.py")


def test_read_empty_crlf_and_undecodable_files(tools: ProjectTools, root: Path) -> None:
    empty = ToolResult("(app/__init__.py is empty.)", summary="Read app/__init__.py (empty)")
    assert tools.read("app/__init__.py") == empty
    (root / "win.txt").write_bytes(b"one\r\ntwo\r\n")
    assert tools.read("win.txt").content == "    1\tone\n    2\ttwo"
    (root / "latin.txt").write_bytes(b"caf\xe9\n")
    assert tools.read("latin.txt").content == "    1\tcaf\ufffd"


def test_sensitive_files_are_readable_but_flagged(tools: ProjectTools, root: Path) -> None:
    assert tools.read(".env").content == "    1\tAPI_KEY=abc"  # policy is the caller's job
    os.symlink(".env", root / "config.txt")
    assert tools.is_sensitive(".env")
    assert tools.is_sensitive("config.txt")  # by what it points to
    assert tools.is_sensitive("deploy/id_rsa")
    assert tools.is_sensitive("secrets/app.yaml")
    assert not tools.is_sensitive("app/models.py")
    assert not tools.is_sensitive("README.md")


def test_folders_above_the_root_do_not_make_everything_sensitive(tmp_path: Path) -> None:
    project = tmp_path / "private" / "project"
    write(project, "app.py")
    assert not ProjectTools(project, IgnoreRules(project)).is_sensitive("app.py")


# -- Grep -----------------------------------------------------------------------------------------------


def test_grep_finds_lines_and_respects_gitignore(tools: ProjectTools) -> None:
    result = tools.grep("TODO")
    assert result.content.split("\n") == [
        "README.md:2: A TODO list lives elsewhere.",
        "app/models.py:14:     # TODO: avoid the N+1 query",
        "app/sub/models_extra.py:1: # TODO: more models",
        "main.py:1: from app.models import load_orders  # TODO: wire up",
    ]  # not build/gen.py, debug.log (ignored) or .git/config (git's own)
    assert result.summary == "Grep 'TODO' → 4 matches in 4 files"
    assert not result.is_error


def test_grep_path_glob_and_case(tools: ProjectTools, root: Path) -> None:
    write(root, "app/trace.log", "TODO: ignored by the root's *.log\n")
    assert tools.grep("TODO", path="app").content.split("\n") == [
        "app/models.py:14:     # TODO: avoid the N+1 query", "app/sub/models_extra.py:1: # TODO: more models"]
    assert tools.grep("TODO", path="app/models.py").content == "app/models.py:14:     # TODO: avoid the N+1 query"
    assert tools.grep("TODO", glob="*.md").content == "README.md:2: A TODO list lives elsewhere."
    assert tools.grep("TODO", glob="app/**/*.py").content.count("\n") == 1
    assert tools.grep("TODO", glob="*.{md,py}").summary == "Grep 'TODO' → 4 matches in 4 files"
    assert tools.grep("todo").content == "No matches for 'todo' in the project."
    assert tools.grep("todo", ignore_case=True).summary == "Grep 'todo' → 4 matches in 4 files"
    assert tools.grep("^class Order:$").content == "app/models.py:6: class Order:"
    # A folder asked for by name is searched even when ignored, with its files' own rules.
    assert tools.grep("TODO", path="build").content == "build/gen.py:1: # TODO: generated"


def test_grep_invalid_regex_and_empty_pattern(tools: ProjectTools) -> None:
    unclosed = r"^Invalid regular expression '\(unclosed': missing \) at position 9\.$"
    with pytest.raises(ToolError, match=unclosed):
        tools.grep("(unclosed")
    with pytest.raises(ToolError, match="The pattern is empty"):
        tools.grep("")


def test_grep_caps_files_lines_and_line_length(tools: ProjectTools, root: Path) -> None:
    for n in range(60):
        write(root, f"many/f{n:02}.txt", "needle\n")
    by_files = tools.grep("needle", path="many")
    lines = by_files.content.split("\n\n")[0].split("\n")
    assert lines == [f"many/f{n:02}.txt:1: needle" for n in range(50)]
    assert by_files.content.endswith("[Stopped at 50 files with matches; more files match. Narrow the search.]")
    assert by_files.summary == "Grep 'needle' in many → 50 matches in 50 files (incomplete)"
    write(root, "lots.txt", "hay needle\n" * 300)
    by_lines = tools.grep("needle", path="lots.txt")
    assert by_lines.content.split("\n\n")[0].split("\n") == [f"lots.txt:{n}: hay needle" for n in range(1, 201)]
    assert by_lines.content.endswith("[Stopped at 200 matching lines; there are more. Narrow the search.]")
    write(root, "wide.js", "a" * 1000 + "needle" + "b" * 1000 + "\n")
    wide = tools.grep("needle", path="wide.js").content
    text = wide.split(": ", 1)[1]
    assert text == "…" + "a" * 100 + "needle" + "b" * 194 + "…"


def test_grep_skips_binary_and_huge_files(tools: ProjectTools, root: Path) -> None:
    (root / "blob.bin").write_bytes(b"needle\x00\x01")
    write(root, "dump.sql", "needle\n" + "x" * (2 * 1024 * 1024))
    write(root, "ok.txt", "needle\n")
    result = tools.grep("needle")
    assert result.content.split("\n\n") == [
        "ok.txt:1: needle", "[Skipped 1 file(s) over 2.0 MB: dump.sql; use Read.]"]
    with pytest.raises(ToolError, match=r"^blob\.bin is a binary file \(8 B\)\.$"):
        tools.grep("needle", path="blob.bin")
    with pytest.raises(ToolError, match=r"^dump\.sql is over 2\.0 MB \(2\.0 MB\); use Read in parts\.$"):
        tools.grep("needle", path="dump.sql")


def test_grep_stops_at_its_time_budget(tools: ProjectTools, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools_module, "GREP_SECONDS", -1.0)
    result = tools.grep("TODO")
    assert result == ToolResult("No matches for 'TODO' in the project.\n\n[The file listing stopped at the time "
                                "budget; results are incomplete. Narrow the path.]",
                                summary="Grep 'TODO' → no matches (incomplete)")


def test_grep_patterns_that_depend_on_line_ends(tools: ProjectTools, root: Path) -> None:
    (root / "win.txt").write_bytes(b"alpha\r\nbeta\r\n")
    assert tools.grep(r"alpha$", path="win.txt").content == "win.txt:1: alpha"
    assert tools.grep(r"\Abeta", path="win.txt").content == "win.txt:2: beta"  # per line, not per file
    assert tools.grep(r"(?<!x)beta\Z", path="win.txt").content == "win.txt:2: beta"


# -- Glob -----------------------------------------------------------------------------------------------


def test_glob_patterns_and_ignore_rules(tools: ProjectTools) -> None:
    assert tools.glob("**/*.py").content.split("\n") == [
        "app/__init__.py", "app/models.py", "app/sub/models_extra.py", "main.py"]  # not build/gen.py
    assert tools.glob("*.py").content == "main.py"
    assert tools.glob("app/**/models*.py").content.split("\n") == ["app/models.py", "app/sub/models_extra.py"]
    assert tools.glob("app/*.py").content.split("\n") == ["app/__init__.py", "app/models.py"]
    assert tools.glob("./*.{md,py}").content.split("\n") == ["README.md", "main.py"]
    assert tools.glob("app/").content.split("\n") == ["app/__init__.py", "app/models.py", "app/sub/models_extra.py"]
    assert tools.glob("[mR]*").content.split("\n") == ["README.md", "main.py"]
    assert tools.glob("app/[!_]*.py").content == "app/models.py"
    assert tools.glob("mai?.py").content == "main.py"
    assert tools.glob("**/*.log").content == "No files match '**/*.log'."
    assert tools.glob("**/config").summary == "Glob '**/config' → no files"  # .git/ is never listed
    assert tools.glob("**").summary == "Glob '**' → 7 files"
    with pytest.raises(ToolError, match="has a '\\{' without its '}'"):
        tools.glob("*.{py")
    with pytest.raises(ToolError, match=r"^Invalid glob '\[z-a\]': bad character range"):
        tools.glob("[z-a]")
    with pytest.raises(ToolError, match=r"^Invalid glob '\[z-a\]\.py'"):
        tools.grep("x", glob="[z-a].py")


def test_glob_caps_its_list(tools: ProjectTools, root: Path) -> None:
    for n in range(510):
        write(root, f"gen/f{n:03}.txt")
    result = tools.glob("gen/*.txt")
    paths = result.content.split("\n\n")[0].split("\n")
    assert paths == [f"gen/f{n:03}.txt" for n in range(500)]
    assert result.content.endswith("[Showing 500 of 510 matching files; narrow the pattern.]")
    assert result.summary == "Glob 'gen/*.txt' → 510 files"


# -- Edit, Write, apply, undo ---------------------------------------------------------------------------------


def test_edit_exact_replace_apply_and_undo(tools: ProjectTools, root: Path) -> None:
    path = root / "app" / "models.py"
    path.chmod(0o750)
    inode = path.stat().st_ino
    change = tools.propose_edit("app/models.py", "    return orders\n", "    return list(orders)\n")
    assert change.path == "app/models.py"
    assert change.old_text == MODELS
    assert change.new_text == MODELS.replace("return orders", "return list(orders)")
    assert change.mode == 0o750
    assert change.diff.split("\n")[:3] == ["--- a/app/models.py", "+++ b/app/models.py", "@@ -12,4 +12,4 @@"]
    assert "-    return orders\n+    return list(orders)\n" in change.diff
    assert path.read_text() == MODELS  # nothing written until applied
    applied = tools.apply(change)
    message = "Edited app/models.py (+1 \u22121 lines)"
    assert applied == ToolResult(message, summary=message)
    assert path.read_text() == change.new_text
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert path.stat().st_ino != inode  # replaced by rename, not rewritten in place
    assert [p.name for p in path.parent.iterdir() if "buddy-tmp" in p.name] == []
    undone = tools.undo(change)
    assert undone == ToolResult("app/models.py is back as it was before the change.", summary="restored app/models.py")
    assert path.read_text() == MODELS
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_edit_refusals(tools: ProjectTools, root: Path) -> None:
    write(root, "app/x.py", "a = 1\na = 1\na = 1\n")
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: tools.propose_edit("app/x.py", "b = 2", "c"), "^old_string not found in app/x.py; it must match"),
        (lambda: tools.propose_edit("app/x.py", "a = 1", "a = 2"),
         "^old_string occurs 3 times in app/x.py; add context or set replace_all.$"),
        (lambda: tools.propose_edit("app/x.py", "a = 1", "a = 1"), "^old_string and new_string are the same"),
        (lambda: tools.propose_edit("app/x.py", "", "a"), "^old_string is empty"),
        (lambda: tools.propose_edit("app/gone.py", "a", "b"), "^app/gone.py does not exist; use Write to create it.$"),
        (lambda: tools.propose_edit("app", "a", "b"), "^app is a folder, not a file.$"),
    ]
    for call, message in cases:
        with pytest.raises(ToolError, match=message):
            call()
    (root / "blob.bin").write_bytes(b"a\x00b")
    with pytest.raises(ToolError, match=r"^blob\.bin is a binary file"):
        tools.propose_edit("blob.bin", "a", "b")
    (root / "latin.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(ToolError, match=r"^latin\.txt is not valid UTF-8 text"):
        tools.propose_edit("latin.txt", "caf", "cafe")


def test_edit_replace_all_and_crlf_files(tools: ProjectTools, root: Path) -> None:
    write(root, "app/x.py", "a = 1\na = 1\na = 1\n")
    change = tools.propose_edit("app/x.py", "a = 1", "a = 2", replace_all=True)
    assert change.new_text == "a = 2\na = 2\na = 2\n"
    assert tools.apply(change).content == "Edited app/x.py (+3 \u22123 lines)"
    (root / "win.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    crlf = tools.propose_edit("win.txt", "one\ntwo\n", "one\n2\n")
    tools.apply(crlf)
    assert (root / "win.txt").read_bytes() == b"one\r\n2\r\nthree\r\n"


def test_apply_refuses_a_file_changed_on_disk(tools: ProjectTools, root: Path) -> None:
    path = root / "app" / "models.py"
    change = tools.propose_edit("app/models.py", "total_cents", "total")
    path.write_text(MODELS + "# edited by hand\n")
    with pytest.raises(ToolError, match=r"^app/models\.py changed on disk since this change was proposed"):
        tools.apply(change)
    assert path.read_text() == MODELS + "# edited by hand\n"
    new = tools.propose_write("app/new.py", "x = 1\n")
    write(root, "app/new.py", "mine\n")
    with pytest.raises(ToolError, match=r"^app/new\.py was created by someone else"):
        tools.apply(new)
    assert (root / "app" / "new.py").read_text() == "mine\n"


def test_undo_refuses_when_the_file_changed_after_apply(tools: ProjectTools, root: Path) -> None:
    change = tools.propose_edit("app/models.py", "total_cents", "total")
    tools.apply(change)
    (root / "app" / "models.py").write_text("rewritten\n")
    with pytest.raises(ToolError, match=r"^app/models\.py changed since the change was applied; not undoing it\.$"):
        tools.undo(change)
    assert (root / "app" / "models.py").read_text() == "rewritten\n"


def test_apply_is_atomic_when_the_rename_fails(tools: ProjectTools, root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    change = tools.propose_edit("app/models.py", "total_cents", "total")

    def broken_replace(src: object, dst: object, **_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ToolError, match=r"^Could not write app/models\.py: No space left on device\.$"):
        tools.apply(change)
    assert (root / "app" / "models.py").read_text() == MODELS
    assert sorted(p.name for p in (root / "app").iterdir()) == ["__init__.py", "models.py", "sub"]


def test_write_new_file_in_new_folders_and_undo_deletes_it(tools: ProjectTools, root: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        change = tools.propose_write("services/billing/invoice.py", "def total():\n    return 0\n")
        assert (change.old_text, change.mode) == (None, None)
        assert change.diff == ("--- a/services/billing/invoice.py\n+++ b/services/billing/invoice.py\n"
                               "@@ -0,0 +1,2 @@\n+def total():\n+    return 0\n")
        assert not (root / "services").exists()
        assert tools.apply(change).content == "Created services/billing/invoice.py (2 lines)"
    finally:
        os.umask(old_umask)
    created = root / "services" / "billing" / "invoice.py"
    assert created.read_text() == "def total():\n    return 0\n"
    assert stat.S_IMODE(created.stat().st_mode) == 0o644
    assert tools.undo(change) == ToolResult("Deleted services/billing/invoice.py, which the change had created.",
                                            summary="deleted services/billing/invoice.py")
    assert not created.exists()


def test_write_replaces_an_existing_file(tools: ProjectTools, root: Path) -> None:
    (root / "main.py").chmod(0o755)
    change = tools.propose_write("main.py", "print('hi')\n")
    assert change.old_text == "from app.models import load_orders  # TODO: wire up\n"
    assert change.mode == 0o755
    assert change.diff.endswith("-from app.models import load_orders  # TODO: wire up\n+print('hi')\n")
    assert tools.apply(change).content == "Edited main.py (+1 \u22121 lines)"
    assert (root / "main.py").read_text() == "print('hi')\n"
    assert stat.S_IMODE((root / "main.py").stat().st_mode) == 0o755
    with pytest.raises(ToolError, match=r"^main\.py already has exactly this content"):
        tools.propose_write("main.py", "print('hi')\n")
    write(root, "plain.txt", "x")
    with pytest.raises(ToolError, match=r"^Cannot create plain\.txt/inner\.py: plain\.txt is a file, not a folder\.$"):
        tools.propose_write("plain.txt/inner.py", "x\n")


def test_write_and_edit_refuse_git_internals(tools: ProjectTools, root: Path) -> None:
    os.symlink(".git", root / "gitdir")
    for path in (".git/config", ".git/hooks/pre-commit", "sub/.git/x", ".GIT/config", "gitdir/config"):
        with pytest.raises(ToolError, match=r"is inside \.git/, which holds git's own data"):
            tools.propose_write(path, "evil\n")
    with pytest.raises(ToolError, match=r"is inside \.git/"):
        tools.propose_edit(".git/config", "[core]", "[evil]")
    forged = ProposedChange(path=".git/config", old_text=None, new_text="evil\n", diff="", mode=None)
    with pytest.raises(ToolError, match=r"is inside \.git/"):
        tools.apply(forged)
    assert (root / ".git" / "config").read_text() == "[core]\n# TODO in git's own data\n"
    assert not (root / "sub").exists()


def test_edit_through_a_symlink_inside_changes_the_target(tools: ProjectTools, root: Path) -> None:
    os.symlink("app/models.py", root / "models_link.py")
    change = tools.propose_edit("models_link.py", "total_cents", "total")
    assert change.path == "app/models.py"
    tools.apply(change)
    assert (root / "models_link.py").is_symlink()
    assert "    total: int\n" in (root / "app" / "models.py").read_text()


def test_diff_marks_missing_final_newline_and_control_characters(tools: ProjectTools, root: Path) -> None:
    write(root, "t.txt", "a\x1b[31m\nend")
    change = tools.propose_edit("t.txt", "end", "fin")
    assert change.diff.split("\n")[3:] == [" a\u241b[31m", "-end", "\\ No newline at end of file", "+fin",
                                           "\\ No newline at end of file", ""]


# -- definitions and dispatch ----------------------------------------------------------------------------------


def test_tool_definitions_only_the_allowed_in_order() -> None:
    assert [t["name"] for t in tool_definitions(["Glob", "Read", "Bash"])] == ["Read", "Glob"]
    assert [t["name"] for t in tool_definitions(TOOL_NAMES)] == list(TOOL_NAMES)
    assert tool_definitions([]) == []
    assert {t["name"] for t in tool_definitions(READ_ONLY)} == {"Read", "Grep", "Glob"}


def test_tool_definitions_have_schema_shapes() -> None:
    required = {"Read": ["path"], "Grep": ["pattern"], "Glob": ["pattern"],
                "Edit": ["path", "old_string", "new_string"], "Write": ["path", "content"]}
    types = {"path": "string", "offset": "integer", "limit": "integer", "pattern": "string", "glob": "string",
             "ignore_case": "boolean", "old_string": "string", "new_string": "string", "replace_all": "boolean",
             "content": "string"}
    definitions = tool_definitions(t for t in TOOL_NAMES if t != "Task")  # Task: see test_agents_engine
    json.dumps(definitions)
    for definition in definitions:
        assert set(definition) == {"name", "description", "input_schema"}
        schema = definition["input_schema"]
        assert schema["type"] == "object"
        assert schema["required"] == required[definition["name"]]
        assert set(schema["required"]) <= set(schema["properties"])
        for key, spec in schema["properties"].items():
            assert spec["type"] == types[key] and spec["description"]
        assert "project root" in definition["description"]
    definitions[0]["input_schema"]["properties"]["path"]["type"] = "broken"
    assert tool_definitions(["Read"])[0]["input_schema"]["properties"]["path"]["type"] == "string"


def test_run_read_only_checks_arguments(tools: ProjectTools) -> None:
    ok = run_read_only(tools, "Read", {"path": "app/models.py", "offset": 12.0, "limit": 1, "extra": "ignored"})
    assert ok == ToolResult("   12\tdef load_orders(db, user_id):\n\n[Showing lines 12-12; app/models.py "
                            "continues (287 B in all). Read on with offset=13.]",
                            summary="Read app/models.py lines 12-12 (287 B)")
    assert run_read_only(tools, "Glob", {"pattern": "*.py"}).content == "main.py"
    assert run_read_only(tools, "Grep", {"pattern": "Order:", "path": None}).content == "app/models.py:6: class Order:"
    failures = {
        ("Read", json.dumps({})): "Read needs the argument 'path'.",
        ("Read", json.dumps({"path": "main.py", "offset": "3"})): "Read: 'offset' must be an integer, not str.",
        ("Read", json.dumps({"path": "main.py", "limit": True})): "Read: 'limit' must be an integer, not bool.",
        ("Grep", json.dumps({"pattern": "x", "ignore_case": "yes"})):
            "Grep: 'ignore_case' must be true or false, not str.",
        ("Glob", json.dumps({"pattern": ["*.py"]})): "Glob: 'pattern' must be a string, not list.",
        ("Edit", json.dumps({"path": "main.py"})): "Edit is not a read-only tool (those are Glob, Grep, Read).",
    }
    for (name, arguments), message in failures.items():
        result = run_read_only(tools, name, json.loads(arguments))
        assert (result.is_error, result.content) == (True, message)
        assert result.summary == f"{name} failed: {message}"
    missing = run_read_only(tools, "Read", {"path": "nope.py"})
    assert missing.is_error and missing.content.startswith("nope.py does not exist.")


def test_propose_change_checks_arguments(tools: ProjectTools) -> None:
    change = propose_change(tools, "Edit", {"path": "main.py", "old_string": "wire up", "new_string": "done",
                                            "replace_all": False, "unknown": 1})
    assert change.new_text == "from app.models import load_orders  # TODO: done\n"
    assert propose_change(tools, "Write", {"path": "new.txt", "content": ""}).new_text == ""
    with pytest.raises(ToolError, match=r"^Edit needs the argument 'new_string'\.$"):
        propose_change(tools, "Edit", {"path": "main.py", "old_string": "x"})
    with pytest.raises(ToolError, match=r"^Write: 'content' must be a string, not int\.$"):
        propose_change(tools, "Write", {"path": "main.py", "content": 3})
    with pytest.raises(ToolError, match=r"^Read does not change files\.$"):
        propose_change(tools, "Read", {"path": "main.py"})
