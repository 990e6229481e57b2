"""Turn whatever went wrong with a model call into a message a user can act on.

Every failure the SDK can raise (HTTP status errors, errors sent inside the stream, connection
problems, timeouts, missing credentials) maps to a :class:`Failure` with a one-line title saying
what happened, a hint saying what to do, and whether trying again may help. The user's question
is always kept (the UI puts it back in the prompt), so hints can point at ``/retry``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from buddy_tui.conversation.retries import retry_after

CREDENTIALS_HINT = (
    "Set ANTHROPIC_API_KEY to your key from console.anthropic.com (export ANTHROPIC_API_KEY=...) "
    "and restart buddy-tui; or set ANTHROPIC_BASE_URL to an Anthropic-compatible local server such "
    "as Ollama or llama.cpp (export ANTHROPIC_BASE_URL=http://localhost:11434)."
)
RETRY = "Your question is kept."
TOO_BIG = "Attach fewer or smaller files, or /clear to start a new conversation; your question is kept."


@dataclass(frozen=True)
class Failure:
    """A failed model call, described for the user."""

    kind: str  # auth, permission, rate_limit, overloaded, server, bad_request, not_found, connection,
    # timeout, credentials, unexpected
    title: str
    hint: str = ""
    retryable: bool = False
    status: int | None = None
    attempts: int = 1  # attempts made to open the reply's stream, retries included, when known

    def text(self) -> str:
        """Title and hint as one paragraph (a full stop between them if the title lacks one: it
        may end with the API's own words)."""
        title = self.title.strip()
        if self.hint and title and not title.endswith((".", "!", "?", ":")):
            title += "."
        return f"{title} {self.hint}".strip()


# What each API error type means and what to do about it; keyed by the error body's ``type``.
_BY_TYPE: dict[str, tuple[str, str, str, bool]] = {
    "authentication_error": ("auth", "The API rejected the credentials",
                             "Check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) and restart buddy-tui.", False),
    "permission_error": ("permission", "This key is not allowed to use that model or feature",
                         "Check the key's workspace and the model name.", False),
    "rate_limit_error": ("rate_limit", "Rate limited by the API", "Wait a little. " + RETRY, True),
    "overloaded_error": ("overloaded", "The API is overloaded right now", "Wait a moment. " + RETRY, True),
    "api_error": ("server", "The API had an internal error", RETRY, True),
    "request_too_large": ("bad_request", "The request is too large for the API", TOO_BIG, False),
    "invalid_request_error": ("bad_request", "The API refused the request", "", False),
    "not_found_error": ("not_found", "The API could not find what was asked for",
                        "Check the model name and ANTHROPIC_BASE_URL.", False),
    "billing_error": ("permission", "The API reports a billing problem",
                      "Check your plan and credit balance.", False),
    "timeout_error": ("timeout", "The API timed out", RETRY, True),
}
_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}
# The real API's words for a prompt over the model's context window.
_PROMPT_TOO_LONG = re.compile(r"prompt is too long:\s*([\d,]+)\s*tokens\s*>\s*([\d,]+)\s*maximum", re.IGNORECASE)
_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "h11", "anyio"})


def _after(attempts: int) -> str:
    return f"after {attempts} attempts" if attempts > 1 else ""


def _seconds(value: float) -> str:
    """``7 s``, ``about 3 min``: a wait in words a person can act on."""
    if value < 90:
        return f"{max(1, math.ceil(value))} s"
    return f"about {round(value / 60)} min"


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and whatever it was raised from, outermost first, without looping."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _origin(exc: BaseException) -> str:
    """``http://127.0.0.1:8080``: where the failed request went, when the exception knows."""
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    if url is None:
        return ""
    parts = urlsplit(str(url))
    host = parts.netloc.rpartition("@")[2]  # never the user name and password a proxy address may hold
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


def _time_limit(exc: BaseException, causes: list[BaseException]) -> float | None:
    """The timeout that ran out, from the request's own settings."""
    request = getattr(exc, "request", None)
    limits = getattr(request, "extensions", {}).get("timeout")
    if not isinstance(limits, dict):
        return None
    phase = "connect" if any("Connect" in type(c).__name__ for c in causes) else "read"
    value = limits.get(phase)
    return float(value) if isinstance(value, int | float) else None


def _status_failure(exc: BaseException, attempts: int) -> Failure:
    import anthropic

    assert isinstance(exc, anthropic.APIStatusError)
    code = exc.status_code
    status = code if code >= 400 else None  # in-stream errors arrive on a 200
    error_type = exc.type or _BY_STATUS.get(code) or ("api_error" if code >= 500 else "invalid_request_error")
    kind, title, hint, retryable = _BY_TYPE.get(
        error_type, ("server" if code >= 500 else "bad_request", "The API returned an error", "", code >= 500))
    detail = exc.api_message or ""
    where = ", ".join(p for p in (str(status) if status else "during the reply", _after(attempts)) if p)
    said = f" The API said: {detail}" if detail else ""
    too_long = _PROMPT_TOO_LONG.search(detail)
    if too_long:
        used, limit = (int(n.replace(",", "")) for n in too_long.groups())
        title, hint, said = (f"The conversation is too long for the model: {used:,} tokens, "
                             f"the limit is {limit:,}"), TOO_BIG, ""
    elif kind == "rate_limit":
        wait = retry_after(exc.response.headers)
        if wait is not None and wait > 0:
            at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
            hint = f"Try again in {_seconds(wait)} (at {at}), as the API asks; /retry sends your question again."
    elif kind == "bad_request" and not hint:
        hint = "Your question is kept; change it or its files and send it again."
    return Failure(kind, f"{title} ({where}).{said}", hint, retryable, status, attempts)


def _connection_failure(exc: BaseException, attempts: int) -> Failure:
    import anthropic

    causes = _causes(exc)
    origin = _origin(exc)
    there = f" {origin}" if origin else " the API"
    after = f" ({_after(attempts)})" if attempts > 1 else ""
    local = bool(origin) and not origin.startswith("https://api.anthropic.com")
    if isinstance(exc, anthropic.APITimeoutError):
        limit = _time_limit(exc, causes)
        within = f" within {limit:g} s" if limit is not None else " in time"
        return Failure("timeout", f"No answer from{there}{within}{after}.",
                       "Check your connection" + (" and that server" if local else "") + f". {RETRY}",
                       True, attempts=attempts)
    if any(isinstance(c, ConnectionRefusedError) or "refused" in str(c).lower() for c in causes):
        hint = (f"Nothing is listening at{there}: start that server, or point ANTHROPIC_BASE_URL at the "
                f"right address and restart. {RETRY}" if local else f"Check your network. {RETRY}")
        return Failure("connection", f"Could not connect to{there}: connection refused{after}.", hint, True,
                       attempts=attempts)
    cause = next((c for c in causes[1:] if str(c)), None)
    reason = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    connect = any("ConnectError" in type(c).__name__ for c in causes)
    title = (f"Could not connect to{there}{reason}{after}." if connect
             else f"Lost the connection to{there} before it answered{reason}{after}.")
    return Failure("connection", title, f"Check your network and ANTHROPIC_BASE_URL. {RETRY}", True,
                   attempts=attempts)


def _cut_failure(exc: BaseException) -> Failure:
    """A reply that had begun and then broke off. Decided by what happened (the stream was open),
    not by the exception's class: SDK versions differ in whether they wrap the transport's error."""
    causes = _causes(exc)
    cause = next((c for c in reversed(causes) if type(c).__module__.split(".")[0] in _TRANSPORT_MODULES), exc)
    if any("Timeout" in type(c).__name__ for c in causes):
        return Failure("timeout", "The API stopped sending in the middle of the reply.", RETRY, True)
    detail = f" ({type(cause).__name__}: {cause})" if str(cause) else f" ({type(cause).__name__})"
    return Failure("connection", f"Lost the connection to the API during the reply{detail}.", RETRY, True)


#: What the person can do about a refusal (the app's words; ``ask`` names its own options).
DECLINED_HINT = ("Rephrase the question, or give more context (what it is for, the files it concerns); or pick "
                 "another model with /model and send it again with /retry.")


def declined(partial: bool, category: str | None = None, explanation: str | None = None) -> Failure:
    """The model declined to answer (``stop_reason: "refusal"``): what happened, with the API's
    category and words when it gave them, and what the person can do. ``partial``: some of the
    answer had arrived before it stopped, and is kept."""
    title = ("The model stopped part-way and declined to go on" if partial
             else "The model declined to answer this question")
    if category:
        title += f" (policy category: {category.replace('_', ' ')})"
    title += "; the part that arrived is kept above." if partial else "."
    detail = " ".join((explanation or "").split())
    if detail:
        title += f" The API said: {detail}" + ("" if detail.endswith((".", "!", "?")) else ".")
    return Failure("refusal", title, DECLINED_HINT)


def describe_error(exc: BaseException, *, attempts: int = 1, started: bool = False) -> Failure:
    """Describe any exception from a model call for the chat; never raises.

    ``attempts`` is how many attempts were made to open the reply's stream (retries included)
    before giving up, when the caller knows; more than one is mentioned in the title. ``started``
    says the reply's stream had opened: a failure that is not the API's own error is then a cut
    mid-reply. What it says is shown, printed and stored, so credentials are scrubbed out of it
    (the key, and the user name and password of a proxy's address).
    """
    from buddy_tui.settings.crash_reports import scrub

    failure = _described(exc, attempts, started)
    return replace(failure, title=scrub(failure.title), hint=scrub(failure.hint))


def _described(exc: BaseException, attempts: int, started: bool) -> Failure:
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        return _status_failure(exc, attempts)
    transport = any(isinstance(c, anthropic.APIConnectionError) or type(c).__module__.split(".")[0]
                    in _TRANSPORT_MODULES for c in _causes(exc))
    if transport and (started or not isinstance(exc, anthropic.APIConnectionError)):
        return _cut_failure(exc)  # the reply had begun (or a raw transport error, only ever met mid-stream)
    if isinstance(exc, anthropic.APIConnectionError):  # timeouts included
        return _connection_failure(exc, attempts)
    if isinstance(exc, TypeError) and "authentication" in str(exc).lower():
        return Failure("credentials", "No API key is set.", CREDENTIALS_HINT)
    message = str(exc).splitlines()[0] if str(exc) else ""
    return Failure("unexpected", f"Unexpected error: {type(exc).__name__}{': ' if message else ''}{message}",
                   RETRY, True)
