"""The real program in a real pseudo-terminal: it draws, quits on Ctrl+Q, and leaves the
terminal as it found it (main screen back, cursor shown, mouse reporting off)."""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.helpers import make_project

ENTER_ALT, LEAVE_ALT = b"\x1b[?1049h", b"\x1b[?1049l"
SHOW_CURSOR = b"\x1b[?25h"
MOUSE_ON, MOUSE_OFF = b"\x1b[?1000h", b"\x1b[?1000l"


def read_until(fd: int, wanted: bytes, seconds: float, seen: bytearray) -> bool:
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return wanted in seen
            if not chunk:
                break
            seen.extend(chunk)
    return wanted in seen


def test_ctrl_q_leaves_the_terminal_clean(tmp_path: Path) -> None:
    project = make_project(tmp_path / "orders")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    env.pop("TEXTUAL", None)
    process = subprocess.Popen([sys.executable, "-m", "buddy_tui", str(project)], stdin=slave, stdout=slave,
                               stderr=slave, env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    output = bytearray()
    try:
        assert read_until(master, b"Backend", 30, output), output[-400:]
        assert ENTER_ALT in output and MOUSE_ON in output
        mark = len(output)  # the first frame is out: the app reads keys, and Ctrl+Q is one of its own
        os.write(master, b"\x11")  # Ctrl+Q
        read_until(master, b"\x00never", 10, output)  # drain until the program closes the terminal
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    tail = bytes(output[mark:])
    assert LEAVE_ALT in tail and SHOW_CURSOR in tail and MOUSE_OFF in tail
    after_leave = tail[tail.rindex(LEAVE_ALT):]
    assert b"Traceback" not in tail and ENTER_ALT not in after_leave
