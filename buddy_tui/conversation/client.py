"""The Anthropic client, built from the SDK's own environment, and where its requests go.

Credentials and the endpoint are resolved by the SDK exactly as it documents
(``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``, ``ANTHROPIC_BASE_URL``, profiles...). buddy-tui
adds two things: a local Anthropic-compatible server named by ``ANTHROPIC_BASE_URL`` works
without a key, since such servers do not check one; and an endpoint that is not an http(s)
address is a configuration error, said plainly before any request is made. The SDK (2.14 to
2.17 at least) takes a set but empty ``ANTHROPIC_BASE_URL=`` as the endpoint itself, not as
unset, and every request then fails as an "unsupported protocol" after all its retries.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from buddy_tui.conversation.errors import CREDENTIALS_HINT
from buddy_tui.settings.crash_reports import without_userinfo

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

    from buddy_tui.settings.model_settings import Settings

ANTHROPIC_API = "https://api.anthropic.com"
#: Sent to a local server that ignores credentials; never a real key, never stored.
LOCAL_PLACEHOLDER_KEY = "buddy-tui-local-server"


@dataclass(frozen=True)
class Connection:
    """Where requests go and how they are authenticated, for the status line and the chat."""

    ready: bool
    base_url: str
    auth: str
    message: str = ""
    #: Why it is not ready: "credentials" (none found) or "configuration" (an unusable endpoint).
    kind: str = "credentials"

    def __post_init__(self) -> None:
        # Shown in the header and the chat: never with the user name and password a proxy's address holds.
        object.__setattr__(self, "base_url", without_userinfo(self.base_url))

    @property
    def local(self) -> bool:
        """True when talking to something other than Anthropic's own API."""
        return is_local(self.base_url)


def is_local(base_url: str) -> bool:
    """True for an endpoint other than Anthropic's own API (a local or compatible server)."""
    return not base_url.rstrip("/").startswith(ANTHROPIC_API)


def _client(kwargs: dict[str, object], max_retries: int | None) -> AsyncAnthropic:
    """An ``AsyncAnthropic`` whose ``max_retries`` is the settings' count (None: the default).
    buddy-tui spends that count itself, retrying the opening of each stream, and sends every
    request with the SDK's own retries off (see :mod:`buddy_tui.conversation.retries`)."""
    from anthropic import AsyncAnthropic

    from buddy_tui.conversation.retries import DEFAULT_MAX_RETRIES

    retries = DEFAULT_MAX_RETRIES if max_retries is None else max(0, max_retries)
    return AsyncAnthropic(max_retries=retries, **kwargs)  # type: ignore[arg-type]


#: Variables through which the SDK can find credentials (besides its config folder on disk).
_CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CONFIG_DIR",
                         "ANTHROPIC_IDENTITY_TOKEN", "ANTHROPIC_IDENTITY_TOKEN_FILE", "ANTHROPIC_FEDERATION_RULE_ID")


def sdk_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the SDK looks for profiles: ``ANTHROPIC_CONFIG_DIR``, else its platform default."""
    env = os.environ if env is None else env
    if env.get("ANTHROPIC_CONFIG_DIR"):
        return Path(env["ANTHROPIC_CONFIG_DIR"])
    if sys.platform == "win32":
        appdata = env.get("APPDATA")
        return (Path(appdata) if appdata else Path.home() / "AppData" / "Roaming") / "Anthropic"
    return Path.home() / ".config" / "anthropic"


def endpoint(env: Mapping[str, str] | None = None) -> str:
    """Where requests will go, as the SDK will see it (without loading the SDK), to be shown: a
    user name and password in the address are left out. A set but empty ``ANTHROPIC_BASE_URL`` is
    empty here too, as it is to the SDK."""
    env = os.environ if env is None else env
    value = env.get("ANTHROPIC_BASE_URL")
    return without_userinfo(ANTHROPIC_API if value is None else value).rstrip("/")


def url_problem(value: str, name: str = "ANTHROPIC_BASE_URL") -> str | None:
    """Why ``value`` cannot be where requests go (empty, or not an http(s) address with a host),
    or None when it can. Decided from the value alone: no request is made to find out."""
    if not value.strip():
        return (f"{name} is set but empty, so there is nowhere to send requests. Unset it to use Anthropic's "
                "API, or set it to your server's address, such as http://localhost:11434.")
    if value != value.strip():  # the SDK would send to the address with the space in it
        return (f"{name} has a space or a line break before or after the address, so requests would go "
                "nowhere. Remove it (a value read from a file often ends with a line break).")
    try:
        parts = urlsplit(value)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        usable = False
    if usable:
        return None
    # The value itself is not repeated: a mistyped one may hold a key or a password.
    return (f"{name} is not an http:// or https:// address, so there is nowhere to send requests. Set it to a "
            "full address, such as http://localhost:11434, or unset it to use Anthropic's API.")


def base_url_problem(env: Mapping[str, str] | None = None) -> str | None:
    """The configuration error in ``ANTHROPIC_BASE_URL``, if it is set and unusable."""
    env = os.environ if env is None else env
    value = env.get("ANTHROPIC_BASE_URL")
    return None if value is None else url_problem(value)


def precheck(env: Mapping[str, str] | None = None) -> Connection | None:
    """Without loading the SDK (it takes most of a second and ~70 MB): a Connection that says
    the endpoint is unusable, or that no credentials are set when none of the places the SDK
    looks has any; else None, and the SDK decides when the client is built (:func:`connect`)."""
    env = os.environ if env is None else env
    base_url = endpoint(env)
    if (problem := base_url_problem(env)) is not None:
        return Connection(False, base_url, "none", problem, kind="configuration")
    if any(env.get(name) for name in _CREDENTIAL_VARIABLES) or is_local(base_url):
        return None
    if sdk_config_dir(env).exists():  # profiles on disk: only the SDK can read them
        return None
    return Connection(False, base_url, "none", f"No API key is set. {CREDENTIALS_HINT}")


def connect(settings: Settings) -> tuple[AsyncAnthropic | None, Connection]:
    """Build the async client the SDK's way, or explain why there is none."""
    from anthropic import AnthropicError

    if (problem := base_url_problem()) is not None:  # the SDK would take it, and fail every request
        return None, Connection(False, endpoint(), "none", problem, kind="configuration")
    kwargs: dict[str, object] = {}
    if settings.timeout is not None:
        kwargs["timeout"] = settings.timeout
    try:
        client = _client(kwargs, settings.max_retries)
    except AnthropicError as exc:  # e.g. a broken SDK profile named by ANTHROPIC_PROFILE
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, Connection(False, os.environ.get("ANTHROPIC_BASE_URL", ANTHROPIC_API), "none",
                                f"The Anthropic SDK could not load credentials: {detail}")
    base_url = str(client.base_url).rstrip("/")
    if (problem := url_problem(base_url, "The endpoint from the SDK's profile")) is not None:
        return None, Connection(False, base_url, "none", problem, kind="configuration")
    if client.api_key is not None:
        return client, Connection(True, base_url, "API key")
    if client.auth_token is not None:
        return client, Connection(True, base_url, "auth token")
    if getattr(client, "credentials", None) is not None:
        return client, Connection(True, base_url, "SDK profile")
    if is_local(base_url):
        local = _client({"api_key": LOCAL_PLACEHOLDER_KEY, **kwargs}, settings.max_retries)
        return local, Connection(True, base_url, "none (local server)")
    return None, Connection(False, base_url, "none", f"No API key is set. {CREDENTIALS_HINT}")
