"""Files as context: reading safely, previews, attachments, mentions, ignore rules, literal display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buddy_tui.context import attachments as context
from buddy_tui.context.attachments import (
    ContextError,
    find_mentions,
    human_size,
    is_sensitive,
    load_attachment,
    load_preview,
    printable,
)
from buddy_tui.context.folder import IgnoreRules
from buddy_tui.context.highlight import lexer_for


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "models.py").write_text("class Order:\n    id: int\n")
    (tmp_path / "notes with space.md").write_text("# Notes\n")
    (tmp_path / ".env").write_text("KEY=1\n")
    return tmp_path


def test_preview_of_text_binary_empty_and_missing(project: Path) -> None:
    text = load_preview(project / "app" / "models.py")
    assert (text.kind, text.text, text.truncated) == ("text", "class Order:\n    id: int", False)
    (project / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    binary = load_preview(project / "logo.png")
    assert binary.kind == "binary" and "binary file" in binary.message
    (project / "empty.txt").write_bytes(b"")
    assert load_preview(project / "empty.txt").kind == "empty"
    missing = load_preview(project / "gone.txt")
    assert missing.kind == "error" and "cannot read" in missing.message


def test_huge_file_preview_reads_only_the_head(project: Path) -> None:
    huge = project / "huge.log"
    line = "x" * 99 + "\n"
    with huge.open("w") as handle:
        for _ in range(200_000):  # 20 MB
            handle.write(line)
    preview = load_preview(huge)
    assert preview.truncated
    assert len(preview.text.encode()) <= context.PREVIEW_BYTES
    assert preview.text.count("\n") < context.PREVIEW_LINES
    assert "19.1 MB" in preview.message


def test_one_enormous_line_is_cut(project: Path) -> None:
    (project / "min.js").write_text("a" * 100_000)
    preview = load_preview(project / "min.js")
    assert len(preview.text) == context.PREVIEW_LINE_CHARS + 2
    assert preview.text.endswith(" …")


def test_non_utf8_text_is_shown_with_replacement_characters(project: Path) -> None:
    (project / "latin.txt").write_bytes(b"caf\xe9 cr\xe8me\n")
    assert load_preview(project / "latin.txt").text == "caf\ufffd cr\ufffdme"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs need a POSIX system")
def test_fifo_is_refused_without_blocking(project: Path) -> None:
    fifo = project / "pipe"
    os.mkfifo(fifo)
    assert load_preview(fifo).kind == "error"
    with pytest.raises(ContextError, match="not a regular file"):
        load_attachment(fifo, project)


def test_attachment_label_and_truncation(project: Path) -> None:
    attachment = load_attachment(project / "app" / "models.py", project)
    assert attachment.path == "app/models.py"
    assert attachment.label == "models.py 25 B ~8 tok"
    assert attachment.key == "app/models.py" and attachment.tokens == 8
    big = project / "big.sql"
    big.write_text("-- row\n" * 100_000)
    truncated = load_attachment(big, project)
    assert truncated.truncated and truncated.size == 700_000
    assert len(truncated.text.encode()) == context.ATTACH_BYTES
    assert truncated.label == "big.sql first 200.0 KB of 683.6 KB ~58,515 tok"


def test_attachment_outside_the_project_is_refused(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("nope")
    (project / "link.txt").symlink_to(outside)
    with pytest.raises(ContextError, match="outside the project"):
        load_attachment(project / "link.txt", project)
    with pytest.raises(ContextError, match="outside the project"):
        load_attachment(project / ".." / outside.parent.name / "secret.txt", project)


def test_mentions(project: Path) -> None:
    text = 'look at @app/models.py, and @"notes with space.md" but not @missing.py or me@example.com'
    assert find_mentions(text, project) == [project / "app" / "models.py", project / "notes with space.md"]
    assert find_mentions("@../../etc/passwd", project) == []
    assert find_mentions("@app", project) == []  # folders are not files


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [(".env", True), (".env.production", True), ("prod.env", True), ("id_rsa", True), ("server.key", True),
     ("client_secret.json", True), ("credentials", True), ("terraform.tfstate", True),
     ("models.py", False), ("environment.md", False), ("keyboard.py", False)],
)
def test_sensitive_file_names(name: str, sensitive: bool) -> None:
    assert is_sensitive(name) is sensitive


def test_printable_neutralises_escape_sequences() -> None:
    hostile = "ok\x1b[2J\x1b]0;pwned\x07\r\x9b31m\ttab\nline"
    shown = printable(hostile)
    assert "\x1b" not in shown and "\x07" not in shown and "\x9b" not in shown and "\r" not in shown
    assert shown == "ok␛[2J␛]0;pwned␇␍\ufffd31m\ttab\nline"


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 5 * 1024**2)] == ["0 B", "1023 B", "1.5 KB", "5.0 MB"]


def test_gitignore_rules_nested_negated_and_git_folder(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.log\nbuild/\n!keep.log\n")
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".gitignore").write_text("secret.txt\n")
    (tmp_path / "build" / "sub").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    for name in ("x.log", "keep.log", "a/secret.txt", "a/b/secret.txt", "a/ok.py", "build/sub/f.py"):
        (tmp_path / name).write_text("")
    rules = IgnoreRules(tmp_path)
    verdicts = {name: rules.is_ignored(Path(name)) for name in
                ("x.log", "keep.log", "a/secret.txt", "a/b/secret.txt", "a/ok.py", "build", "build/sub/f.py",
                 ".git", ".gitignore")}
    assert verdicts == {"x.log": True, "keep.log": False, "a/secret.txt": True, "a/b/secret.txt": True,
                        "a/ok.py": False, "build": True, "build/sub/f.py": True, ".git": True,
                        ".gitignore": False}
    assert rules.is_ignored(tmp_path.parent / "elsewhere")


@pytest.mark.parametrize(
    ("name", "lexer"),
    [("models.py", "python"), ("Dockerfile", "docker"), ("schema.sql", "sql"), ("unknown.zzz", "text")],
)
def test_lexer_choice(name: str, lexer: str) -> None:
    assert lexer_for(Path(name)) == lexer


def test_references_and_path_expansion(project: Path) -> None:
    from buddy_tui.context.attachments import expand_paths, find_references

    text = "See app/models.py:2, app/models.py:2 again, `notes with space.md:1`, gone.py:4, /etc/passwd:1, x.py:0"
    assert find_references(text, project) == [("app/models.py", 2)]
    found, missing = expand_paths(["app/*.py", "nope", "../*", "app/models.py"], project)
    assert found == [project / "app" / "models.py"] and missing == ["nope", "../*"]


def test_attaching_a_line_range(project: Path) -> None:
    (project / "five.txt").write_text("one\ntwo\nthree\nfour\nfive\n")
    part = load_attachment(project / "five.txt", project, (2, 9))
    assert (part.text, part.lines, part.key) == ("two\nthree\nfour\nfive", (2, 5), "five.txt:2-5")
    assert part.label == "five.txt:2-5 ~6 tok"
    with pytest.raises(ContextError, match="has no lines 7-8"):
        load_attachment(project / "five.txt", project, (7, 8))


def test_symlinks_that_lead_in_circles(tmp_path: Path) -> None:
    from buddy_tui.context.folder import leads_in_circles

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "up").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "self").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "sideways").symlink_to(tmp_path / "a" / "b")
    (tmp_path / "a" / "dangling").symlink_to(tmp_path / "nowhere")
    assert leads_in_circles(tmp_path / "a" / "b" / "up") and leads_in_circles(tmp_path / "a" / "self")
    assert not leads_in_circles(tmp_path / "a" / "sideways") and not leads_in_circles(tmp_path / "a" / "b")
    assert not leads_in_circles(tmp_path / "a" / "dangling")
