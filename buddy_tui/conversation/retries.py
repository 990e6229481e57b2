"""Try the opening of a model call again when it failed in a way worth another try.

buddy-tui owns its retries: the client's ``max_retries`` (set by
:func:`buddy_tui.conversation.client.connect` from the settings) is the count, and every request
goes out with the SDK's own retries off. Each round of a turn opens its stream through :class:`Opening`, which uses
tenacity to try again after a connection failure or timeout, or a status worth another try
(408, 409, 429, every 5xx; the server's ``x-should-retry`` header wins). Only the opening is
retried: once the stream is open, text has reached the user and a failure ends the turn.

Before each wait a :class:`RetryNotice` says why, for how long, and which attempt comes next.
The wait is the server's ``retry-after-ms`` or ``retry-after`` when it gives a positive one
(capped at :data:`MAX_HEADER_WAIT`), else an exponential backoff with a little jitter.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tenacity import RetryCallState

log = logging.getLogger(__name__)

#: Retries when the settings name none: 3 attempts in all.
DEFAULT_MAX_RETRIES = 2
#: Backoff without a server-given wait: 0.5 s, doubled per retry already taken, at most 8 s.
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
#: A backoff sleeps up to this fraction less than it announces, so that clients that failed
#: together do not all come back at the same moment.
JITTER = 0.25
#: The longest wait a server's retry-after gets: one minute of a countdown is as long as it is
#: worth keeping someone waiting (Esc stops it sooner; a failure after it says when to come back).
MAX_HEADER_WAIT = 60.0

T = TypeVar("T")
Listener = Callable[["RetryNotice"], None]


@dataclass(frozen=True)
class RetryNotice:
    """An attempt failed and will be made again after ``wait`` seconds."""

    reason: str  # "overloaded (529)", "rate limited (429)", "could not connect", ...
    wait: float  # seconds until the next attempt (an upper bound when not ``exact``)
    attempt: int  # the attempt about to be made: 2 for the first retry
    attempts: int  # attempts in all: max_retries + 1
    exact: bool  # the wait came from the server's retry-after header

    def describe(self, remaining: float | None = None) -> str:
        """``overloaded (529), retrying in 4 s, attempt 2 of 3``; ``remaining`` counts down."""
        seconds = self.wait if remaining is None else remaining
        if seconds <= 0:
            when = "now"
        elif seconds < 1:
            when = "in <1 s"
        else:
            when = f"in {'' if self.exact else 'about '}{_whole(seconds)} s"
        return f"{self.reason}, retrying {when}, attempt {self.attempt} of {self.attempts}"


def _whole(seconds: float) -> int:
    """Seconds rounded up, forgiving float noise (3.0000001 is 3)."""
    return math.ceil(round(seconds, 3))


# -- what is retried, and how long to wait ---------------------------------------------------


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a response with this status is worth another try: the server's ``x-should-retry``
    (``true`` or ``false``) wins, else 408, 409, 429 and every 5xx (529 included)."""
    verdict = (headers.get("x-should-retry") or "").strip().lower()
    if verdict in ("true", "false"):
        return verdict == "true"
    return status in (408, 409, 429) or status >= 500


def retryable(exc: BaseException) -> bool:
    """Whether an attempt to open the stream that ended in ``exc`` should be made again.

    Decided by what happened: the server answered with a status (and headers) worth another try,
    or no answer came at all (the connection failed or timed out). Only ever asked about the
    opening: a stream that opened is never retried, whatever ends it.
    """
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):  # the server answered with an error status
        return should_retry_status(exc.response.status_code, exc.response.headers)
    return isinstance(exc, anthropic.APIConnectionError)  # no answer: refused, reset, timed out


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait the server asks for, in seconds: ``retry-after-ms``, else ``retry-after`` as
    (possibly fractional) seconds or as an HTTP date; None when neither says anything usable."""
    with contextlib.suppress(TypeError, ValueError):
        return _finite(float(headers.get("retry-after-ms")) / 1000)  # type: ignore[arg-type]
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return _finite(float(value))
    import email.utils  # only for a retry-after date: rare, and slow to import

    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


def _finite(value: float) -> float:
    if not math.isfinite(value):  # "nan" and "inf" parse as floats
        raise ValueError(value)
    return value


def backoff(retries_taken: int) -> float:
    """The wait announced after ``retries_taken`` retries when the server named none."""
    return min(INITIAL_DELAY * 2.0 ** min(retries_taken, 64), MAX_DELAY)


def next_wait(retries_taken: int, headers: Mapping[str, str] | None) -> tuple[float, bool]:
    """How long to wait before the next attempt, and whether the server said so exactly."""
    asked = retry_after(headers) if headers is not None else None
    if asked is not None and asked > 0:  # zero or a date in the past: back off as usual
        return min(asked, MAX_HEADER_WAIT), True
    return backoff(retries_taken), False


def sleep_for(notice: RetryNotice) -> float:
    """What is actually slept for ``notice``: the server's wait as asked, a backoff with jitter."""
    return notice.wait if notice.exact else notice.wait * (1 - JITTER * random.random())


def status_reason(status: int) -> str:
    """A retryable HTTP status in a few words."""
    if status == 529:
        return "overloaded (529)"
    if status == 429:
        return "rate limited (429)"
    if status == 408:
        return "request timed out (408)"
    if status == 409:
        return "conflict (409)"
    if status >= 500:
        return f"server error ({status})"
    return f"error ({status})"


def error_reason(exc: BaseException) -> str:
    """A failed attempt in a few words."""
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        return status_reason(exc.response.status_code)
    if isinstance(exc, anthropic.APITimeoutError):
        return "no answer in time"
    if "ConnectError" in {type(e).__name__ for e in _chain(exc)}:
        return "could not connect"
    return "connection lost"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes, without looping."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _headers(exc: BaseException) -> Mapping[str, str] | None:
    import anthropic

    return exc.response.headers if isinstance(exc, anthropic.APIStatusError) else None


# -- one opening, tried again as allowed -----------------------------------------------------


class Opening:
    """One round's opening of its stream, made up to ``max_retries + 1`` times.

    ``announce`` hears each :class:`RetryNotice` before the wait it describes (a faulty listener
    never breaks the call); :attr:`attempts` counts the attempts made, for the failure's title.
    The wait is an ``asyncio.sleep``, so cancelling the task (Esc) stops it at once.
    """

    def __init__(self, max_retries: int, announce: Listener | None = None) -> None:
        self.max_retries = max(0, max_retries)
        self.announce = announce
        self.attempts = 0
        self.notices: list[RetryNotice] = []
        self._next: RetryNotice | None = None

    async def __call__(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``await attempt()`` until it succeeds, fails in a way not worth another try, or the
        retries run out; the last failure is raised as it was."""
        import asyncio

        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        retrying = AsyncRetrying(stop=stop_after_attempt(self.max_retries + 1), retry=retry_if_exception(retryable),
                                 wait=self._wait, before_sleep=self._before_sleep, sleep=asyncio.sleep, reraise=True)
        async for trial in retrying:
            with trial:
                self.attempts += 1
                return await attempt()
        raise AssertionError("tenacity ends with a result or an exception")  # pragma: no cover

    def _wait(self, retry_state: RetryCallState) -> float:
        """How long to sleep after the attempt that just failed (asked even when none follows).

        The parameters are named as tenacity names them: before 8.2 it passes them by keyword."""
        assert retry_state.outcome is not None
        exc = retry_state.outcome.exception()
        assert exc is not None
        retries_taken = retry_state.attempt_number - 1
        wait, exact = next_wait(retries_taken, _headers(exc))
        self._next = RetryNotice(error_reason(exc), wait, retry_state.attempt_number + 1, self.max_retries + 1, exact)
        return sleep_for(self._next)

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        """Tell whoever listens that the next attempt is coming, and when."""
        notice = self._next
        assert notice is not None
        self.notices.append(notice)
        if self.announce is None:
            return
        try:
            self.announce(notice)
        except Exception:  # the request matters more than the notice
            log.exception("retry listener failed")
