"""Copying: code blocks found the way renderers see them, the right clipboard command per platform
(never the machine's own), OSC 52, and the private fallback file."""

from __future__ import annotations

import base64
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from buddy_tui.display.clipboard import CodeBlock, clipboard_commands, code_blocks, osc52, save_fallback, system_copy

# ---------------------------------------------------------------- code blocks


def test_fenced_blocks_with_backticks_tildes_and_info_strings() -> None:
    text = ("Intro\n\n```python title=app.py\nprint('hi')\n```\n\ntext\n\n~~~sql\nSELECT 1;\n~~~\n\n"
            "```\nno language\n\n```\n")
    assert code_blocks(text) == [CodeBlock("python", "print('hi')"), CodeBlock("sql", "SELECT 1;"),
                                 CodeBlock("", "no language")]


def test_a_longer_fence_holds_shorter_fences_inside_it() -> None:
    text = "````markdown\nExample:\n```js\nx()\n```\n````\n\n~~~~~\n~~~\nstill inside\n~~~~~\n"
    assert code_blocks(text) == [CodeBlock("markdown", "Example:\n```js\nx()\n```"),
                                 CodeBlock("", "~~~\nstill inside")]


def test_indented_blocks_and_blocks_inside_lists_and_quotes() -> None:
    text = ("Run:\n\n    make test\n    make lint\n\n1. Step\n\n   ```sh\n   ./run\n   ```\n\n"
            "> ```py\n> quoted()\n> ```\n")
    assert code_blocks(text) == [CodeBlock("", "make test\nmake lint"), CodeBlock("sh", "./run"),
                                 CodeBlock("py", "quoted()")]


def test_an_unclosed_fence_runs_to_the_end() -> None:
    assert code_blocks("Here:\n```go\nfunc main() {\n\n") == [CodeBlock("go", "func main() {")]


def test_no_code_blocks_and_inline_code_are_not_blocks() -> None:
    assert code_blocks("Use `pip install x` then ``y``.\n\n# Title\n") == []
    assert code_blocks("") == []


# ---------------------------------------------------------------- OSC 52


def test_osc52_round_trips_through_base64() -> None:
    text = "naïve 🐍 code\nline 2"
    sequence = osc52(text)
    assert sequence.startswith("\x1b]52;c;") and sequence.endswith("\x07")
    assert base64.b64decode(sequence[len("\x1b]52;c;"):-1]).decode("utf-8") == text
    assert osc52("") == "\x1b]52;c;\x07"


# ---------------------------------------------------------------- system clipboard


class FakeSystem:
    """Installed commands and what happened when they ran."""

    def __init__(self, installed: set[str], failing: frozenset[str] = frozenset()) -> None:
        self.installed = installed
        self.failing = failing
        self.runs: list[tuple[list[str], bytes, Mapping[str, str] | None]] = []

    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}" if name in self.installed else None

    def run(self, argv: list[str], data: bytes, env: Mapping[str, str] | None) -> bool:
        self.runs.append((argv, data, env))
        return argv[0].rsplit("/", 1)[-1] not in self.failing


ALL = {"pbcopy", "wl-copy", "xclip", "xsel", "clip.exe"}


def copy(system: FakeSystem, platform: str, environ: dict[str, str], text: str = "héllo") -> str | None:
    return system_copy(text, which=system.which, run=system.run, platform=platform, environ=environ)


def test_macos_uses_pbcopy_with_a_utf8_locale() -> None:
    system = FakeSystem(ALL)
    assert copy(system, "darwin", {"DISPLAY": ":0", "PATH": "/bin"}) == "pbcopy"
    assert system.runs == [(["/usr/bin/pbcopy"], "héllo".encode(), {"DISPLAY": ":0", "PATH": "/bin",
                                                                       "LC_CTYPE": "UTF-8"})]


def test_wayland_prefers_wl_copy() -> None:
    system = FakeSystem(ALL)
    assert copy(system, "linux", {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}) == "wl-copy"
    assert system.runs == [(["/usr/bin/wl-copy"], "héllo".encode(), None)]


def test_x11_uses_xclip_then_xsel() -> None:
    system = FakeSystem(ALL)
    assert copy(system, "linux", {"DISPLAY": ":0"}) == "xclip"
    assert system.runs[0][0] == ["/usr/bin/xclip", "-selection", "clipboard"]
    system = FakeSystem({"xsel"})
    assert copy(system, "linux", {"DISPLAY": ":0"}) == "xsel"
    assert system.runs == [(["/usr/bin/xsel", "--clipboard", "--input"], "héllo".encode(), None)]


def test_a_failing_command_falls_through_to_the_next() -> None:
    system = FakeSystem(ALL, failing=frozenset({"wl-copy", "xclip"}))
    assert copy(system, "linux", {"WAYLAND_DISPLAY": "w", "DISPLAY": ":0"}) == "xsel"
    assert [argv[0] for argv, _, _ in system.runs] == ["/usr/bin/wl-copy", "/usr/bin/xclip", "/usr/bin/xsel"]


def test_every_command_failing_gives_none() -> None:
    system = FakeSystem(ALL, failing=frozenset(ALL))
    assert copy(system, "linux", {"WAYLAND_DISPLAY": "w", "DISPLAY": ":0", "WSL_DISTRO_NAME": "Ubuntu"}) is None
    assert len(system.runs) == 4


def test_windows_and_wsl_use_clip_exe_with_utf16() -> None:
    expected = b"\xff\xfe" + "héllo".encode("utf-16-le")
    system = FakeSystem(ALL)
    assert copy(system, "win32", {}) == "clip.exe"
    assert system.runs == [(["/usr/bin/clip.exe"], expected, None)]
    system = FakeSystem({"clip.exe"})
    assert copy(system, "linux", {"WSL_DISTRO_NAME": "Ubuntu", "DISPLAY": ":0"}) == "clip.exe"
    assert system.runs == [(["/usr/bin/clip.exe"], expected, None)]


def test_no_display_or_nothing_installed_gives_none_without_running_anything() -> None:
    system = FakeSystem(ALL - {"pbcopy", "clip.exe"})
    assert copy(system, "linux", {}) is None  # a console or an SSH session: no clipboard to reach
    system = FakeSystem(set())
    for platform, environ in [("darwin", {}), ("win32", {}), ("linux", {"DISPLAY": ":0", "WAYLAND_DISPLAY": "w"})]:
        assert copy(system, platform, environ) is None
    assert system.runs == []


def test_candidate_commands_per_platform() -> None:
    assert clipboard_commands("darwin", {}) == [["pbcopy"]]
    assert clipboard_commands("freebsd14", {"DISPLAY": ":0"}) == [["xclip", "-selection", "clipboard"],
                                                                   ["xsel", "--clipboard", "--input"]]
    assert clipboard_commands("linux", {"WSL_INTEROP": "/run/WSL/1_interop"}) == [["clip.exe"]]


def test_the_real_runner_reports_success_failure_and_a_missing_command() -> None:
    from buddy_tui.display.clipboard import run_command

    python = sys.executable
    assert run_command([python, "-c", "import sys; sys.exit(sys.stdin.read() != 'ok')"], b"ok", None)
    assert not run_command([python, "-c", "import sys; sys.exit(sys.stdin.read() != 'ok')"], b"no", None)
    assert not run_command([str(Path(python).parent / "no-such-clipboard-tool")], b"x", None)


# ---------------------------------------------------------------- fallback file


def test_save_fallback_writes_a_private_file_in_the_data_folder(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDDY_TUI_DATA_DIR", str(tmp_path / "data"))
    path = save_fallback("SELECT 1;\n-- naïve\n")
    assert path == tmp_path / "data" / "clipboard.txt"
    assert path.read_text(encoding="utf-8") == "SELECT 1;\n-- naïve\n"
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert save_fallback("second") == path and path.read_text() == "second"  # replaced, not appended
    assert [p.name for p in path.parent.iterdir()] == ["clipboard.txt"]


def test_save_fallback_into_a_given_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUDDY_TUI_DATA_DIR", str(tmp_path / "unused"))
    assert save_fallback("x", tmp_path / "elsewhere") == tmp_path / "elsewhere" / "clipboard.txt"
    assert not (tmp_path / "unused").exists()
