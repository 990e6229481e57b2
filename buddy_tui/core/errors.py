"""Turn whatever went wrong with a model call into a message a user can act on.

Every failure the SDK can raise (HTTP status errors, errors sent inside the stream, connection
problems, timeouts, missing credentials) maps to a :class:`Failure` with a one-line title, a hint
that says what to do, and whether trying again may help.
"""

from __future__ import annotations

from dataclasses import dataclass

CREDENTIALS_HINT = (
    "Set ANTHROPIC_API_KEY to your key from console.anthropic.com (export ANTHROPIC_API_KEY=...) "
    "and restart buddy-tui; or set ANTHROPIC_BASE_URL to an Anthropic-compatible local server such "
    "as Ollama or llama.cpp (export ANTHROPIC_BASE_URL=http://localhost:11434)."
)


@dataclass(frozen=True)
class Failure:
    """A failed model call, described for the user."""

    kind: str  # auth, permission, rate_limit, overloaded, server, bad_request, not_found, connection,
    # timeout, credentials, unexpected
    title: str
    hint: str = ""
    retryable: bool = False
    status: int | None = None

    def text(self) -> str:
        """Title and hint as one paragraph."""
        return f"{self.title} {self.hint}".strip()


# What each API error type means and what to do about it; keyed by the error body's ``type``.
_BY_TYPE: dict[str, tuple[str, str, str, bool]] = {
    "authentication_error": ("auth", "The API rejected the credentials.",
                             "Check ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) and restart.", False),
    "permission_error": ("permission", "This key is not allowed to use that model or feature.",
                         "Check the key's workspace and the model name.", False),
    "rate_limit_error": ("rate_limit", "Rate limited by the API.",
                         "Wait a little and send again.", True),
    "overloaded_error": ("overloaded", "The API is overloaded right now.",
                         "Your question is kept; send it again in a moment.", True),
    "api_error": ("server", "The API had an internal error.",
                  "Your question is kept; send it again.", True),
    "request_too_large": ("bad_request", "The request is too large for the API.",
                          "Attach fewer or smaller files, or /clear the conversation.", False),
    "invalid_request_error": ("bad_request", "The API refused the request.", "", False),
    "not_found_error": ("not_found", "The API could not find what was asked for.",
                        "Check the model name and ANTHROPIC_BASE_URL.", False),
    "billing_error": ("permission", "The API reports a billing problem.",
                      "Check your plan and credit balance.", False),
    "timeout_error": ("timeout", "The API timed out.", "Send the question again.", True),
}
_BY_STATUS = {
    400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
    429: "rate_limit_error", 500: "api_error", 504: "timeout_error", 529: "overloaded_error",
}


_TRANSPORT_MODULES = frozenset({"httpx", "httpx2", "httpcore", "httpcore2", "h11"})


def _retry_after(exc: object) -> str:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return ""
    return f" Try again in {seconds:g} s." if seconds is not None else ""


def describe_error(exc: BaseException) -> Failure:
    """Describe any exception from a model call for the chat; never raises."""
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code if exc.status_code >= 400 else None  # in-stream errors arrive on a 200
        error_type = exc.type or _BY_STATUS.get(exc.status_code) or (
            "api_error" if exc.status_code >= 500 else "invalid_request_error")
        kind, title, hint, retryable = _BY_TYPE.get(
            error_type, ("server" if exc.status_code >= 500 else "bad_request",
                         "The API returned an error.", "", exc.status_code >= 500))
        detail = exc.api_message or ""
        code = f" ({status})" if status else " (during the reply)"
        title = f"{title.rstrip('.')}{code}." + (f" The API said: {detail}" if detail else "")
        if kind == "rate_limit":
            hint = (hint + _retry_after(exc)).strip()
        return Failure(kind, title, hint, retryable, status)
    if isinstance(exc, anthropic.APITimeoutError):
        return Failure("timeout", "The API did not answer in time.",
                       "Check your connection, then send again.", True)
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        reason = f" ({type(cause).__name__}: {cause})" if cause else ""
        return Failure("connection", f"Lost the connection to the API{reason}.",
                       "Check your network or ANTHROPIC_BASE_URL, then send again.", True)
    if type(exc).__module__.split(".")[0] in _TRANSPORT_MODULES:
        # Errors while reading an open stream reach us unwrapped from the SDK's HTTP library.
        if "Timeout" in type(exc).__name__:
            return Failure("timeout", "The API stopped sending in the middle of the reply.",
                           "Your question is kept; send it again.", True)
        return Failure("connection", f"Lost the connection to the API during the reply ({exc}).",
                       "Your question is kept; send it again.", True)
    if isinstance(exc, TypeError) and "authentication" in str(exc).lower():
        return Failure("credentials", "No API key is set.", CREDENTIALS_HINT)
    message = str(exc).splitlines()[0] if str(exc) else ""
    return Failure("unexpected", f"Unexpected error: {type(exc).__name__}{': ' if message else ''}{message}",
                   "Your question is kept; try again.", True)
