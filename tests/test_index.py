"""The project index: which files the walk lists, and how the finder ranks them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.index import FileFinder, walk_project

NON_UTF8 = os.fsdecode(b"caf\xe9.txt")  # what os.scandir hands back: a surrogate-escaped str


def write(root: Path, relative: str, text: str = "x\n") -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def build_mixed(root: Path) -> None:
    """Ignore rules of every kind git has: negation, folder-only, anchored, nested, with slashes."""
    write(root, ".gitignore", "*.log\n!keep.log\nbuild/\n/dist\nnode_modules/\ndocs/**/*.tmp\nsecret/plan.md\n")
    for relative in ("keep.log", "debug.log", "main.py", "build/out.o", "dist/bundle.js", "node_modules/pkg/index.js",
                     "src/dist/vendored.js", "src/build", "src/deep/build/artifact.o", "src/deep/keep.log",
                     "docs/a/b/notes.tmp", "docs/notes.md", "secret/plan.md", "secret/other.md",
                     "src/generated/api.py", "src/important.log", "src/other.log", "src/cache.tmp", "src/local",
                     "src/sub/local", "src/sub/x.py", "src/sub/readme.log", ".git/config", "src/.git/HEAD"):
        write(root, relative)
    # Nested rules: re-include a log, ignore a folder, anchor to this folder only.
    write(root, "src/.gitignore", "generated/\n!important.log\n*.tmp\n/local\n")
    # Deeper still: override the parent's negation and the root's *.log again.
    write(root, "src/sub/.gitignore", "!readme.log\n")


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    root = tmp_path / "mixed"
    root.mkdir()
    build_mixed(root)
    return root


def test_walk_agrees_with_ignore_rules(mixed: Path) -> None:
    rules = IgnoreRules(mixed)
    shown, _ = walk_project(mixed, rules)
    everything, _ = walk_project(mixed, IgnoreRules(mixed), include_ignored=True)
    assert set(shown) < set(everything)
    for relative in everything:
        assert (relative in shown) == (not rules.is_ignored(mixed / relative)), relative
    # Spot checks, so an agreement on "everything is wrong" cannot pass.
    assert {"keep.log", "main.py", "src/dist/vendored.js", "src/build", "src/important.log", "src/sub/local",
            "src/sub/readme.log", "src/deep/keep.log", "docs/notes.md", "secret/other.md", ".gitignore"} <= set(shown)
    assert not {"debug.log", "build/out.o", "dist/bundle.js", "node_modules/pkg/index.js", "src/deep/build/artifact.o",
                "docs/a/b/notes.tmp", "secret/plan.md", "src/generated/api.py", "src/other.log", "src/cache.tmp",
                "src/local"} & set(shown)


def test_walk_never_descends_into_ignored_folders(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[str] = []
    real_scandir = os.scandir

    def spying(path: str) -> Iterator[os.DirEntry[str]]:
        listed.append(Path(path).relative_to(mixed.resolve()).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spying)
    walk_project(mixed, IgnoreRules(mixed))
    assert "node_modules" not in listed and "build" not in listed and "src/generated" not in listed
    assert ".git" not in listed and "src/.git" not in listed
    assert "src/sub" in listed


def test_include_ignored_shows_ignored_files_but_never_git(mixed: Path) -> None:
    everything, stats = walk_project(mixed, IgnoreRules(mixed), include_ignored=True)
    assert {"debug.log", "node_modules/pkg/index.js", "src/generated/api.py", "dist/bundle.js"} <= set(everything)
    assert not [path for path in everything if ".git" in path.split("/")]
    assert stats.files == len(everything)


@pytest.fixture
def awkward(tmp_path: Path) -> Path:
    """Loops, escapes, a FIFO, an unreadable folder and a name that is not UTF-8."""
    root = tmp_path / "project"
    write(root, ".gitignore", "ignored/\n")
    write(root, "a/file.txt")
    write(root, "ignored/hidden.txt")
    write(root, "locked/secret.txt")
    write(root, ".git/HEAD")
    write(root, "src/main.py")
    outside = write(tmp_path, "outside.txt")
    write(tmp_path, "outside_dir/leak.txt")
    os.symlink("..", root / "a" / "loop")  # a symlink loop back to the root
    os.symlink(outside, root / "escape.txt")  # a file outside the project
    os.symlink(tmp_path / "outside_dir", root / "escape_dir")  # a folder outside the project
    os.symlink("src/main.py", root / "shortcut.py")  # a file inside: listed
    os.symlink("src", root / "src_link")  # a folder inside: not followed, so nothing is listed twice
    os.symlink("missing.txt", root / "dangling.txt")
    os.mkfifo(root / "pipe")
    descriptor = os.open(os.path.join(os.fsencode(root), b"caf\xe9.txt"), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(descriptor)
    return root


def test_walk_survives_awkward_trees(awkward: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_scandir = os.scandir

    def scandir(path: str) -> Iterator[os.DirEntry[str]]:
        if os.path.basename(path) == "locked":  # tests run as root, where chmod 000 stops nothing
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, stats = walk_project(awkward, IgnoreRules(awkward))
    assert files == sorted([".gitignore", "a/file.txt", NON_UTF8, "shortcut.py", "src/main.py"])
    assert stats.skipped_special == 1  # the FIFO
    assert stats.skipped_unreadable == 1  # locked/
    assert stats.files == 5
    assert not stats.truncated
    assert stats.seconds > 0
    assert os.fsencode(NON_UTF8) == b"caf\xe9.txt"  # the real name can be recovered


def test_finder_copes_with_non_utf8_names(awkward: Path) -> None:
    files, _ = walk_project(awkward, IgnoreRules(awkward))
    assert FileFinder(files).search("caf")[0] == NON_UTF8


def test_limit_truncates(mixed: Path) -> None:
    everything, _ = walk_project(mixed, IgnoreRules(mixed))
    files, stats = walk_project(mixed, IgnoreRules(mixed), limit=3)
    assert len(files) == 3 and stats.files == 3 and stats.truncated
    assert set(files) <= set(everything) and files == sorted(files)
    exact, stats = walk_project(mixed, IgnoreRules(mixed), limit=len(everything))
    assert exact == everything and not stats.truncated


def test_cancelled_stops_the_walk(mixed: Path) -> None:
    files, stats = walk_project(mixed, IgnoreRules(mixed), cancelled=lambda: True)
    assert files == [] and stats.truncated
    calls = iter(range(1_000))
    files, stats = walk_project(mixed, IgnoreRules(mixed), cancelled=lambda: next(calls) >= 2)
    everything, _ = walk_project(mixed, IgnoreRules(mixed))
    assert stats.truncated and set(files) < set(everything)


def test_walk_accepts_a_relative_root(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(mixed.parent)
    assert walk_project(Path("mixed"), IgnoreRules(Path("mixed")))[0] == walk_project(mixed, IgnoreRules(mixed))[0]


# -- the finder -----------------------------------------------------------------------------------

SMALL = ["app/models.py", "app/models/order.py", "docs/mod_els.md", "src/app/main.py", "tests/test_models.py"]


@pytest.mark.parametrize(("paths", "query", "expected"), [
    # name start beats mid-name, which beats the folder, which beats letters spread over the name
    (SMALL, "models", ["app/models.py", "tests/test_models.py", "app/models/order.py", "docs/mod_els.md"]),
    (SMALL, "zzz", []),
    # the same name: shorter paths first
    (["a/b/c/readme.md", "readme.md", "x/readme.md"], "readme", ["readme.md", "x/readme.md", "a/b/c/readme.md"]),
    # letters in the file name beat letters spread over folders
    (["m/o/d/e/l/s.py", "lib/mxoxdxexlxs.py"], "models", ["lib/mxoxdxexlxs.py", "m/o/d/e/l/s.py"]),
    # a camelCase word start beats the same letters mid-word
    (["lib/usermodel.py", "lib/UserManager.py"], "um", ["lib/UserManager.py", "lib/usermodel.py"]),
    # word starts across folders beat scattered letters
    (["api/auth/views.py", "app/infra/queue1/account_utils5.html"], "apiauth",
     ["api/auth/views.py", "app/infra/queue1/account_utils5.html"]),
    (["src/order_controller.py", "src/other/docs/recently_told.py"], "ordctl",
     ["src/order_controller.py", "src/other/docs/recently_told.py"]),
])
def test_ranking(paths: list[str], query: str, expected: list[str]) -> None:
    assert FileFinder(paths).search(query) == expected


def test_letters_must_appear_in_order() -> None:
    finder = FileFinder(SMALL)
    assert "app/models.py" in finder.search("amp")[:3]
    assert "tests/test_models.py" not in finder.search("amp")  # no "a" in it
    assert finder.search("ledom") == []


def test_case_insensitive() -> None:
    finder = FileFinder(["src/UserManager.ts", "src/other.ts"])
    assert finder.search("USERMAN") == finder.search("userman") == ["src/UserManager.ts"]


def test_empty_query_and_limit() -> None:
    finder = FileFinder(SMALL)
    assert finder.search("") == SMALL
    assert finder.search("", limit=2) == SMALL[:2]
    assert finder.search("models", limit=1) == ["app/models.py"]
    assert finder.search("models", limit=0) == []


def big_paths() -> list[str]:
    paths = [f"pkg{i % 50}/mod{i % 997}/file_{i}.py" for i in range(99_990)]
    paths += ["src/payments/stripe_webhook_handler.py", "src/payments/stripe_client.py", "docs/adr/0001-stripe.md",
              "web/components/UserAvatar.tsx", "web/components/UserAvatarList.tsx", "README.md", "pyproject.toml",
              "services/billing/invoice_renderer.go", "services/billing/invoice_renderer_test.go", "Makefile"]
    return paths


@pytest.fixture(scope="module")
def big() -> list[str]:
    return big_paths()


def test_finds_unique_names_among_100k_paths(big: list[str]) -> None:
    finder = FileFinder(big)
    assert len(finder) == 100_000
    assert finder.search("stripe_webhook")[0] == "src/payments/stripe_webhook_handler.py"
    assert finder.search("file_99989")[0] == "pkg39/mod289/file_99989.py"
    assert finder.search("useravatar")[:2] == ["web/components/UserAvatar.tsx", "web/components/UserAvatarList.tsx"]
    assert finder.search("invrend")[:2] == ["services/billing/invoice_renderer.go",
                                             "services/billing/invoice_renderer_test.go"]
    assert finder.search("pyproject")[0] == "pyproject.toml"
    assert finder.search("qqq") == []


def test_broad_queries_on_100k_paths_still_rank_sensibly(big: list[str]) -> None:
    finder = FileFinder(big)
    results = finder.search("m", limit=20)
    assert len(results) == 20 and all("m" in path.lower() for path in results)
    assert results[0] == "Makefile"  # the shortest name that starts with the query
    results = finder.search("f1")
    assert results[0].endswith("/file_1.py")  # the whole name before its extension
    assert all(path.rsplit("/", 1)[1].startswith("file_1") for path in results)


def test_typing_and_deleting_give_the_same_results_as_a_fresh_search(big: list[str]) -> None:
    typed = FileFinder(big)
    query = "pkg7/mod1file_42"
    for end in range(1, len(query) + 1):
        assert typed.search(query[:end]) == FileFinder(big).search(query[:end]), query[:end]
    for end in range(len(query) - 1, 0, -1):  # backspace
        assert typed.search(query[:end]) == FileFinder(big).search(query[:end]), query[:end]
    assert typed.search("stripe") == FileFinder(big).search("stripe")  # a new query after all that
