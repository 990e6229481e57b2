"""A program running in a pseudo-terminal, watched the way a user sees it.

:class:`Terminal` starts a command in a pty of a given size, reads everything it draws on a
thread, and remembers when each piece arrived. ``seen(...)`` answers "when did this text first
reach the screen?" from that record (escape sequences stripped), so a figure measures the real
rendering path (Textual's compositor writing to a terminal), not a widget's internal state.
It also reads the process's resident memory and CPU time from /proc.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and two-character escapes.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\r")
_TAIL = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*)?$")  # an escape cut at the end of a read
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TimedOut(AssertionError):
    """What was waited for never reached the screen."""


@dataclass
class Terminal:
    """``argv`` in a ``cols`` x ``rows`` pseudo-terminal; see the module docstring."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path | None = None
    rows: int = 48
    cols: int = 160
    pid: int = 0
    started: float = 0.0
    _fd: int = -1
    _text: bytearray = field(default_factory=bytearray)  # everything drawn, escapes stripped
    _marks: list[tuple[int, float]] = field(default_factory=list)  # (end offset in _text, arrival time)
    _carry: bytes = b""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Terminal:
        """Start the program; ``started`` is the moment just before it was forked."""
        # The reader thread notes when output arrives. With Python's default 5 ms switch interval
        # it could wait that long for the GIL behind the fake server's thread, which made the
        # program look slower while a reply streamed than when idle.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        env = {"TERM": "xterm-256color", "COLUMNS": str(self.cols), "LINES": str(self.rows), **self.env}
        self.started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child becomes the program
            try:
                if self.cwd is not None:
                    os.chdir(self.cwd)
                os.execvpe(self.argv[0], list(self.argv), env)
            finally:
                os._exit(127)
        self.pid, self._fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", self.rows, self.cols, 0, 0))
        threading.Thread(target=self._read, name="pty-reader", daemon=True).start()
        return self

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self._fd, 1 << 16):
                now = time.monotonic()
                data = self._carry + chunk
                cut = _TAIL.search(data)
                self._carry = data[cut.start():] if cut else b""
                data = data[: cut.start()] if cut else data
                with self._lock:
                    self._text.extend(_ESCAPES.sub(b"", data))
                    self._marks.append((len(self._text), now))
        self._done.set()

    # ------------------------------------------------------------------ what is on screen
    @property
    def position(self) -> int:
        """How much has been drawn so far: pass it to :meth:`seen` as ``after``."""
        with self._lock:
            return len(self._text)

    def seen(self, *texts: str, after: int = 0, timeout: float = 30.0) -> float:
        """When every one of ``texts`` had been drawn (after offset ``after``): the arrival time of
        the read that completed the last of them. Raises :class:`TimedOut`."""
        deadline = time.monotonic() + timeout
        wanted = [t.encode() for t in texts]
        while True:
            with self._lock:
                ends = [self._text.find(w, after) for w in wanted]
                if all(e >= 0 for e in ends):
                    last = max(e + len(w) for e, w in zip(ends, wanted, strict=True))
                    return next(t for end, t in self._marks if end >= last)
            if time.monotonic() > deadline or self._done.is_set():
                shown = bytes(self._text[-600:]).decode(errors="replace")
                raise TimedOut(f"{texts!r} never reached the screen of {self.argv[0]}; last drawn: {shown!r}")
            time.sleep(0.002)

    def send(self, data: str | bytes) -> float:
        """Type ``data``; returns the moment it was written."""
        os.write(self._fd, data.encode() if isinstance(data, str) else data)
        return time.monotonic()

    # ------------------------------------------------------------------ the process
    def rss(self) -> int:
        """Resident memory of the process, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def cpu(self) -> float:
        """CPU seconds the process has used (user + system, every thread)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def close(self) -> None:
        """End the program (politely, then not) and reap it."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            if self._reaped(3.0):
                break
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def _reaped(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if os.waitpid(self.pid, os.WNOHANG)[0]:
                    return True
            except ChildProcessError:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)

    def __enter__(self) -> Terminal:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()
