"""Tell the user while the SDK waits to retry a failed model call.

The SDK retries overloaded, rate-limited and failed requests on its own, sleeping between
attempts. :class:`RetryWatch` is SDK middleware: it runs once per attempt inside the SDK's retry
loop, and when an attempt failed in a way the SDK will retry it hands a :class:`RetryNotice` to
whichever listener is active in the calling task (see :func:`listening`). One middleware on the
client thereby serves every turn, each turn hearing only about its own request.

The decisions mirror ``anthropic._base_client`` (``_should_retry``,
``_should_retry_exception``, ``_parse_retry_after_header``, ``_calculate_retry_timeout``), so a
notice says what the SDK is about to do, not a guess.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from anthropic import APIRequest, AsyncAPIResponse, AsyncCallNext

log = logging.getLogger(__name__)

#: The SDK's backoff: 0.5 s doubled per retry taken, at most 8 s (its ``INITIAL_RETRY_DELAY``
#: and ``MAX_RETRY_DELAY``); it then subtracts up to 25 % jitter, so these are upper bounds.
INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
#: The SDK caps a server-requested wait at this many seconds.
MAX_HEADER_WAIT = 4_294_967.0

Listener = Callable[["RetryNotice"], None]
#: The listener of the task whose request is running; the middleware runs in that task.
retry_listener: ContextVar[Listener | None] = ContextVar("buddy_tui_retry_listener", default=None)


@dataclass(frozen=True)
class RetryNotice:
    """An attempt failed and the SDK will try again after ``wait`` seconds."""

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


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """Whether the SDK retries a response with this status: ``x-should-retry`` wins, then
    408, 409, 429 and every 5xx."""
    verdict = headers.get("x-should-retry")
    if verdict == "true":
        return True
    if verdict == "false":
        return False
    return status in (408, 409, 429) or status >= 500


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait the server asks for, in seconds, read as the SDK reads it: ``retry-after-ms``,
    else ``retry-after`` as (possibly fractional) seconds, else as an HTTP date."""
    with contextlib.suppress(TypeError, ValueError):
        return float(headers.get("retry-after-ms")) / 1000  # type: ignore[arg-type]
    value = headers.get("retry-after")
    if value is None:
        return None
    with contextlib.suppress(TypeError, ValueError):
        return float(value)
    import email.utils  # only for a retry-after date: rare, and slow to import

    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


def backoff(retries_taken: int) -> float:
    """The SDK's longest backoff after ``retries_taken`` retries (before its jitter)."""
    return min(INITIAL_DELAY * 2.0 ** min(retries_taken, 1000), MAX_DELAY)


def next_wait(retries_taken: int, headers: Mapping[str, str] | None) -> tuple[float, bool]:
    """How long the SDK sleeps before the next attempt, and whether a header said so exactly."""
    asked = retry_after(headers) if headers is not None else None
    if asked is not None and asked > 0:  # the SDK ignores zero and past dates
        return min(asked, MAX_HEADER_WAIT), True
    return backoff(retries_taken), False


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
    """A connection failure the SDK retries, in a few words."""
    import anthropic

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


def _notify(notice: RetryNotice) -> None:
    """Hand ``notice`` to the running turn's listener; a faulty listener never breaks the call."""
    listener = retry_listener.get()
    if listener is None:
        return
    try:
        listener(notice)
    except Exception:  # the request matters more than the notice
        log.exception("retry listener failed")


@contextlib.contextmanager
def listening(listener: Listener | None) -> Iterator[None]:
    """Route retry notices of requests made in this block (in this task) to ``listener``."""
    token = retry_listener.set(listener)
    try:
        yield
    finally:
        retry_listener.reset(token)


class RetryWatch:
    """SDK middleware (an async callable, so this module need not import the SDK at start-up)
    that announces each retry before the SDK sleeps for it.

    The middleware cannot see its client, so ``max_retries`` must be set to the client's once it
    is built (``config.connect`` does); a request that sets its own ``max_retries`` is honoured.
    Nothing about the request or its response is changed.
    """

    def __init__(self, max_retries: int = 2) -> None:  # the SDK's DEFAULT_MAX_RETRIES
        self.max_retries = max_retries

    def _limit(self, request: APIRequest) -> int:
        own = request.max_retries
        return own if isinstance(own, int) else self.max_retries

    def _notice(self, request: APIRequest, reason: str, headers: Mapping[str, str] | None) -> RetryNotice:
        wait, exact = next_wait(request.retries_taken, headers)
        limit = self._limit(request)
        return RetryNotice(reason, wait, request.retries_taken + 2, limit + 1, exact)

    async def __call__(self, request: APIRequest, call_next: AsyncCallNext) -> AsyncAPIResponse[Any]:
        """Run one attempt; announce the retry the SDK is about to make, if any."""
        import anthropic

        retries_left = self._limit(request) - request.retries_taken > 0
        try:
            response = await call_next(request)
        except anthropic.APIConnectionError as exc:  # timeouts included; the SDK always retries these
            if retries_left:
                _notify(self._notice(request, error_reason(exc), None))
            raise
        http = getattr(response, "http_response", None)  # another middleware may hand back a value
        if (http is not None and not http.is_success and retries_left
                and should_retry_status(http.status_code, http.headers)):
            _notify(self._notice(request, status_reason(http.status_code), http.headers))
        return response

