"""The token formats that identify themselves, one rule per vendor family, and the trigger words that
say a line may hold one.

Each rule is written from the vendor's documented format (a fixed prefix, a length, an alphabet).
Every pattern runs in linear time: it starts with a look-behind that lets a token start only where
a run of its characters starts, its repetitions are possessive, and it is only run on a line where
one of its trigger words occurs. Triggers are searched for in the lower-cased text, so each is
written in lower case and starts with a literal character (which keeps the combined search fast).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass

#: Characters that may not stand right before or after most tokens.
_W = r"A-Za-z0-9_\-"


def _has_digit_and_upper(value: str) -> bool:
    """Random tokens mix digits and capitals; ``sk-some-long-kebab-name`` does not."""
    return any(c.isdigit() for c in value) and any(c.isupper() for c in value)


def _has_digit_and_letter(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _has_upper_and_lower(value: str) -> bool:
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def _is_user_password(value: str) -> bool:
    """Whether base64 ``value`` decodes to ``user:password`` (Docker ``auth``, HTTP Basic)."""
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, colon, password = decoded.partition(":")
    return bool(colon and user and password) and decoded.isprintable()


@dataclass(frozen=True)
class Rule:
    """One token family: ``pattern``'s group "value" (else the whole match) is the secret."""

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]  # lower-case regex fragments, each starting with a literal character
    check: Callable[[str], bool] | None = None  # a further test of the value
    prefix: int = 0  # leading characters left out of the placeholder test (a fixed prefix such as AAAA…)


def _rule(kind: str, body: str, *triggers: str, check: Callable[[str], bool] | None = None,
          prefix: int = 0, bound: str = _W) -> Rule:
    """A rule whose match may only start and end where a run of ``bound`` characters does."""
    pattern = re.compile(f"(?<![{bound}])(?:{body})(?![{bound}])")
    return Rule(kind, pattern, triggers, check, prefix)


def _assigned(kind: str, name: str, value: str, *triggers: str,
              check: Callable[[str], bool] | None = None) -> Rule:
    """A value of a known shape assigned to a name that says what it is (``VAULT_TOKEN=s.…``)."""
    pattern = re.compile(f"(?<![A-Za-z0-9])(?i:{name})[\"']?\\]?[ \\t]*+(?::=|=>|[:=])[ \\t]*+[\"']?"
                         f"(?P<value>{value})(?![A-Za-z0-9_.+/=-])")
    return Rule(kind, pattern, triggers, check)


_B64 = r"A-Za-z0-9+/"
_AGE_ALPHABET = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"  # bech32

#: In order of priority: when two rules find overlapping values, the earlier one wins.
TOKEN_RULES: tuple[Rule, ...] = (
    # -- cloud providers
    _rule("AWS access key", r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}", "akia", "asia", "abia", "acca",
          bound="A-Za-z0-9"),
    _assigned("AWS secret key", r"(?:aws[_.-]?)?secret[_.-]?access[_.-]?key", f"[{_B64}]{{40}}", "secret"),
    _rule("Google API key", r"AIza[A-Za-z0-9_\-]{35}", "aiza"),
    _rule("Google OAuth client secret", r"GOCSPX-[A-Za-z0-9_\-]{28}", "gocspx-"),
    _rule("Google OAuth token", r"ya29\.[A-Za-z0-9_\-]{30,2000}+|1//0[A-Za-z0-9_\-]{40,500}+", r"ya29\.", "1//0",
          check=_has_digit_and_letter),
    _rule("Azure storage key", r"(?i:AccountKey|SharedAccessKey)=(?P<value>[A-Za-z0-9+/]{30,200}+={0,2})",
          "accountkey=", "sharedaccesskey=", bound="A-Za-z0-9"),
    _rule("Azure SAS signature", r"(?<=[?&;])sig=(?P<value>(?:[A-Za-z0-9+/]|%2[BbFf]){30,200}+(?:=|%3[Dd]){0,2})",
          "sig=", bound="A-Za-z0-9"),
    _rule("Azure AD client secret", r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}", "q~",
          bound=r"A-Za-z0-9_~.\-"),
    _rule("Azure DevOps token", r"[A-Za-z0-9]{52}JQQJ99[A-Za-z0-9]{3}AZDO[A-Za-z0-9]{4}", "jqqj99"),
    _rule("DigitalOcean token", r"do[opr]_v1_[a-f0-9]{64}", "dop_v1_", "doo_v1_", "dor_v1_"),
    _rule("Alibaba access key", r"LTAI[A-Za-z0-9]{12,20}", "ltai", check=_has_digit_and_upper),
    _rule("Heroku API key", r"HRKU-[A-Za-z0-9_\-]{30,100}+", "hrku-"),
    _rule("Cloudflare origin CA key", r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}", r"v1\.0-"),
    _rule("Fly.io token", r"fo1_[A-Za-z0-9_\-]{43}|fm[12][ar]?_[A-Za-z0-9+/=_\-]{60,4000}+", "fo1_", "fm1", "fm2"),
    _rule("Netlify token", r"nf[pcoua]_[A-Za-z0-9]{36,60}+", "nfp_", "nfc_", "nfo_", "nfu_", "nfa_"),
    _rule("Vercel token", r"vc[pirak]_[A-Za-z0-9]{24,100}+", "vcp_", "vci_", "vcr_", "vca_", "vck_",
          check=_has_digit_and_upper),
    _rule("Supabase key", r"sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_\-]{20,100}+", "sbp_", "sb_secret_"),
    _rule("PlanetScale token", r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=\-]{32,64}+", "pscale_"),
    # -- source control, CI, registries and secret stores
    _rule("GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,251}+|github_pat_[A-Za-z0-9_]{22,244}+",
          "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", bound="A-Za-z0-9_"),
    _rule("GitLab token",
          r"(?:glpat|gldt|glrt|glcbt|glptt|glft|glimt|glagent|glsoat|gloas|glffct|glwt)-[A-Za-z0-9_.\-]{20,300}+"
          r"|GR1348941[A-Za-z0-9_\-]{20,100}+",
          "glpat-", "gldt-", "glrt-", "glcbt-", "glptt-", "glft-", "glimt-", "glagent-", "glsoat-", "gloas-",
          "glffct-", "glwt-", "gr1348941", bound=r"A-Za-z0-9_.\-"),
    _rule("Bitbucket app password", r"ATBB[A-Za-z0-9]{32}", "atbb"),
    _rule("npm token", r"npm_[A-Za-z0-9]{36}", "npm_"),
    _rule("PyPI token", r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,2000}+", "pypi-age"),
    _rule("RubyGems key", r"rubygems_[a-f0-9]{48}", "rubygems_"),
    _rule("NuGet key", r"oy2[a-z0-9]{43}", "oy2[a-z0-9]{43}", check=_has_digit_and_letter),
    _rule("Clojars token", r"CLOJARS_[a-z0-9]{60}", "clojars_"),
    _rule("Docker Hub token", r"dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,100}+", "dckr_"),
    _rule("Docker registry auth", rf"\"auth\"[ \t]*+:[ \t]*+\"(?P<value>[{_B64}]{{6,2000}}+={{0,2}})\"",
          "\"auth\"", check=_is_user_password, bound="A-Za-z0-9"),
    _rule("HTTP basic credentials", rf"(?i:basic)[ \t]++(?P<value>[{_B64}]{{8,2000}}+={{0,2}})",
          "basic[ \t]+[a-z0-9+/]{8}", check=_is_user_password, bound=f"{_B64}="),
    _rule("CircleCI token", r"CCIP(?:AT|RJ)_[A-Za-z0-9]{20,30}_[a-f0-9]{40}", "ccipat_", "cciprj_"),
    _rule("Vault token", r"hv[sbr]\.[A-Za-z0-9_\-]{24,2000}+", r"hv[sbr]\."),
    _assigned("Vault token", r"vault[\w.-]{0,20}token", r"[sb]\.[A-Za-z0-9_\-]{24,2000}+", "token",
              check=_has_digit_and_letter),
    _rule("Terraform Cloud token", r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,100}+", r"\.atlasv1\."),
    _rule("Doppler token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_\-]{1,40}+\.)?[A-Za-z0-9]{40,60}+",
          r"dp\.(?:pt|st|sa|ct|scim|audit)\."),
    _rule("Pulumi token", r"pul-[a-f0-9]{40}", "pul-"),
    _rule("Postman key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", "pmak-"),
    _rule("Databricks token", r"dapi[a-f0-9]{32}(?:-[0-9])?", "dapi[0-9a-f]{32}"),
    _rule("1Password token", r"ops_eyJ[A-Za-z0-9+/=_\-]{100,4000}+", "ops_eyj"),
    _rule("1Password secret key", r"A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}"
          r"-[A-Z0-9]{5}-[A-Z0-9]{5}", "a3-[a-z0-9]{6}-"),
    _rule("Sourcegraph token", r"sgp_(?:[a-f0-9]{16}_)?[a-f0-9]{40}", "sgp_"),
    _rule("OpenShift token", r"sha256~[A-Za-z0-9_\-]{43}", "sha256~"),
    _rule("Harness token", r"pat\.[A-Za-z0-9_\-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}", r"pat\.[a-z0-9_\-]{22}\."),
    _rule("Infracost key", r"ico-[A-Za-z0-9]{32}", "ico-"),
    _rule("Prefect key", r"pnu_[A-Za-z0-9]{36}", "pnu_"),
    _rule("Contentful token", r"CFPAT-[A-Za-z0-9_\-]{43}", "cfpat-"),
    _rule("Frame.io token", r"fio-u-[A-Za-z0-9_=\-]{64}", "fio-u-"),
    _rule("ReadMe key", r"rdme_[a-z0-9]{70}", "rdme_"),
    # -- chat and webhooks
    _rule("Slack token", r"(?:xox[abposre]|xoxe\.xox[bp]|xapp)-[A-Za-z0-9\-]{10,250}+",
          "xoxa-", "xoxb-", "xoxp-", "xoxo-", "xoxs-", "xoxr-", "xoxe", "xapp-"),
    _rule("Slack webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<value>[A-Za-z0-9_/+\-]{20,300}+)",
          r"hooks\.slack\.com/", bound="A-Za-z0-9"),
    _rule("Discord webhook", r"discord(?:app)?\.com/api(?:/v[0-9]{1,2})?/webhooks/[0-9]{15,25}+/"
          r"(?P<value>[A-Za-z0-9_\-]{50,100}+)", r"discord(?:app)?\.com/api", bound="A-Za-z0-9"),
    _rule("Microsoft Teams webhook", r"(?:webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/"
          r"(?P<value>[A-Za-z0-9@/._\-]{40,400}+)", r"webhook\.office\.com", r"office(?:365)?\.com/webhook",
          bound="A-Za-z0-9"),
    Rule("Telegram bot token", re.compile(  # also in a Bot API URL: …/bot<token>/getMe
        r"(?:(?<=bot)|(?<![A-Za-z0-9_:\-]))[0-9]{5,16}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])"),
        (r":aa[a-z0-9_\-]{33}",)),
    # -- payment and commerce
    _rule("Stripe key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}+|whsec_[A-Za-z0-9]{32,100}+",
          "k_live_", "k_test_", "whsec_", bound="A-Za-z0-9_"),
    _rule("Square token", r"sq0atp-[A-Za-z0-9_\-]{22}|sq0csp-[A-Za-z0-9_\-]{43}|EAAA[A-Za-z0-9_\-]{60}",
          "sq0atp-", "sq0csp-", "eaaa", check=_has_digit_and_upper),
    _rule("PayPal Braintree token", r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}",
          r"access_token\$"),
    _rule("Shopify token", r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", "shpat_", "shpca_", "shppa_", "shpss_"),
    _rule("Flutterwave key", r"FLWSECK(?:_TEST)?-[a-f0-9]{32}-X", "flwseck"),
    _rule("Duffel token", r"duffel_(?:test|live)_[A-Za-z0-9_=\-]{43}", "duffel_"),
    _rule("EasyPost key", r"EZ[AT]K[A-Za-z0-9]{54}", "ezak", "eztk"),
    _rule("Shippo token", r"shippo_(?:live|test)_[a-f0-9]{40}", "shippo_"),
    _rule("Plaid token", r"access-(?:sandbox|development|production)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}"
          r"-[a-f0-9]{4}-[a-f0-9]{12}", "access-sandbox-", "access-development-", "access-production-"),
    # -- observability
    _assigned("Datadog key", r"(?:dd|datadog)[_.-]?(?:api|app|application)[_.-]?key", r"[a-f0-9]{40}|[a-f0-9]{32}",
              "dd_ap", "dd-ap", "ddap", "datadog"),
    _rule("New Relic key", r"NR(?:AK|AA|IQ|RA|SP)-[A-Za-z0-9]{27,32}|NRII-[A-Za-z0-9_\-]{32}|NRJS-[a-f0-9]{19}"
          r"|[a-f0-9]{36}NRAL",
          "nrak-", "nraa-", "nrii-", "nriq-", "nrra-", "nrsp-", "nrjs-", "nral"),
    _rule("Sentry token", r"sntrys_eyJ[A-Za-z0-9+/=_]{60,2000}+|sntryu_[a-f0-9]{64}", "sntrys_", "sntryu_"),
    Rule("Sentry DSN key", re.compile(
        r"(?<=://)(?P<value>[a-f0-9]{32})(?::[a-f0-9]{32})?@(?:[a-z0-9\-]{1,63}+\.){0,5}sentry\.io/"),
        ("sentry",)),
    _rule("Grafana token", r"glc_[A-Za-z0-9+/]{32,400}+={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
          r"|eyJrIjoi[A-Za-z0-9+/]{50,1000}+={0,2}", "glc_", "glsa_", "eyjrijoi", bound=f"{_B64}_"),
    _rule("Dynatrace token", r"dt0[a-z][0-9]{2}\.[A-Z0-9]{24}\.[A-Z0-9]{64}", r"dt0[a-z][0-9]{2}\."),
    # -- AI providers
    _rule("Anthropic API key", r"sk-ant-[A-Za-z0-9_\-]{20,400}+", "sk-ant-"),
    _rule("OpenAI API key", r"sk-(?!ant-)[A-Za-z0-9_\-]{32,400}+", "sk-", check=_has_digit_and_upper),
    _rule("Hugging Face token", r"hf_[A-Za-z0-9]{30,40}|api_org_[A-Za-z0-9]{30,40}", "hf_", "api_org_",
          check=_has_upper_and_lower),
    _rule("Groq API key", r"gsk_[A-Za-z0-9]{52}", "gsk_"),
    _rule("Perplexity API key", r"pplx-[A-Za-z0-9]{40,64}+", "pplx-"),
    _rule("Replicate token", r"r8_[A-Za-z0-9]{37}", "r8_"),
    _rule("xAI API key", r"xai-[A-Za-z0-9]{70,100}+", "xai-"),
    # -- communication and mail
    _rule("Twilio API key", r"SK[a-f0-9]{32}", "sk[0-9a-f]{32}"),
    _rule("SendGrid key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}", r"sg\.[a-z0-9_\-]{22}\."),
    _rule("Mailgun key", r"key-[a-f0-9]{32}", "key-[0-9a-f]{32}"),
    _rule("Mailchimp key", r"[a-f0-9]{32}-us[0-9]{1,2}", "-us[0-9]"),
    _rule("Brevo key", r"x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}", "xkeysib-", "xsmtpsib-"),
    # -- productivity and identity
    _rule("Atlassian token", r"AT(?:ATT|CTT)3[A-Za-z0-9_=\-]{100,400}+", "atatt3", "atctt3"),
    _rule("Linear key", r"lin_api_[A-Za-z0-9]{40}|lin_oauth_[a-f0-9]{64}", "lin_api_", "lin_oauth_"),
    _rule("Notion token", r"ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43}", "ntn_", "secret_",
          check=_has_digit_and_upper),
    _rule("Okta token", r"(?i:ssws)[ \t]++(?P<value>00[A-Za-z0-9_\-]{40})", "ssws"),
    _rule("Airtable token", r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", r"pat[a-z0-9]{14}\."),
    _rule("Adobe client secret", r"p8e-[A-Za-z0-9]{32}", "p8e-"),
    _rule("Mapbox secret token", r"sk\.eyJ[A-Za-z0-9_\-]{20,200}+\.[A-Za-z0-9_\-]{20,200}+", r"sk\.eyj"),
    _rule("Facebook token", r"EAACEdEose0cBA[A-Za-z0-9]{20,400}+", "eaacedeose0cba"),
    _rule("age secret key", f"AGE-SECRET-KEY-1[{_AGE_ALPHABET}]{{58}}", "age-secret-key-1"),
    # -- generic formats last: a vendor rule above names the same value better
    _rule("JWT", r"eyJ[A-Za-z0-9_\-]{8,4000}+\.[A-Za-z0-9_\-]{8,8000}+\.[A-Za-z0-9_\-]{0,2000}+", "eyj",
          bound=r"A-Za-z0-9_.\-"),
    Rule("bearer token", re.compile(
        r"(?<![A-Za-z0-9])(?i:bearer)[ \t]++(?P<value>[A-Za-z0-9._~+/-]{20,500}+=*+)(?![A-Za-z0-9._~+/=-])"),
        ("bearer",), _has_digit_and_upper),
)

#: Triggers of the rules that are not token formats: ``user:password@`` in URLs, and assignments to
#: names that say password, secret, token, API key or private key.
URL_TRIGGERS = ("://",)
ASSIGNMENT_TRIGGERS = ("pass", "pwd", "secret", "token", r"api[-_.]?key",
                       r"private[-_.]?key")
#: The pseudo rule numbers of those two.
URL_RULE = len(TOKEN_RULES)
ASSIGNMENT_RULE = URL_RULE + 1


def _all_triggers() -> list[tuple[str, int]]:
    pairs = [(trigger, i) for i, rule in enumerate(TOKEN_RULES) for trigger in rule.triggers]
    pairs += [(t, URL_RULE) for t in URL_TRIGGERS] + [(t, ASSIGNMENT_RULE) for t in ASSIGNMENT_TRIGGERS]
    for trigger, _ in pairs:  # the fast search needs a literal first character, in lower case
        if trigger != trigger.lower() or trigger[0] in "[(.*+?{|^$" or "(?P" in trigger:
            raise ValueError(f"bad trigger {trigger!r}")
    return pairs


def _first(trigger: str) -> str:
    """A trigger's literal first character (an escaped one counts as one)."""
    return trigger[:2] if trigger.startswith("\\") else trigger[0]


def _needle(trigger: str) -> str:
    """The literal text every match of ``trigger`` starts with (up to its first operator)."""
    out: list[str] = []
    i = 0
    while i < len(trigger):
        ch = trigger[i]
        if ch == "\\" and i + 1 < len(trigger) and not trigger[i + 1].isalnum():
            ch, i = trigger[i + 1], i + 1
        elif ch in "[(.|^$":
            break
        elif ch in "?*{":
            out.pop()  # the character before was optional
            break
        out.append(ch)
        i += 1
    return "".join(out)


def _build() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, list[tuple[str, frozenset[int]]]]]:
    """The combined trigger search (grouped by first character, which the regex engine skips to
    quickly), its case-insensitive twin, and the literal needles, by first character, that say
    which rules a trigger starting at some place stands for."""
    pairs = _all_triggers()
    by_first: dict[str, list[str]] = {}
    for trigger, _ in pairs:
        rests = by_first.setdefault(_first(trigger), [])
        rest = trigger[len(_first(trigger)):]
        if rest not in rests:
            rests.append(rest)
    branches = []
    for first, rests in by_first.items():
        inner = "|".join(rests) if all(rests) else ""
        branches.append(first + (f"(?:{inner})" if inner else ""))
    words = "|".join(branches)
    needles: dict[str, set[int]] = {}
    for trigger, rule in pairs:
        needles.setdefault(_needle(trigger), set()).add(rule)
    grouped: dict[str, list[tuple[str, frozenset[int]]]] = {}
    for needle, rules in needles.items():
        grouped.setdefault(needle[0], []).append((needle, frozenset(rules)))
    return re.compile(words), re.compile(words, re.IGNORECASE), grouped


TRIGGER, TRIGGER_ANY_CASE, _NEEDLES = _build()


def rules_in(text: str, start: int, end: int, folded: bool) -> frozenset[int]:
    """The numbers of the rules (indexes into :data:`TOKEN_RULES`, or :data:`URL_RULE` /
    :data:`ASSIGNMENT_RULE`) whose triggers occur in ``text[start:end]`` (``folded``: the text
    is already in lower case). Every place a trigger starts is visited, overlapping ones too."""
    if not folded:
        text, start, end = text[start:end].lower(), 0, end - start
    found: set[int] = set()
    pos = start
    while (match := TRIGGER.search(text, pos, end)) is not None:
        at = match.start()
        for needle, rules in _NEEDLES.get(text[at], ()):
            if text.startswith(needle, at):
                found |= rules
        pos = at + 1
    return frozenset(found)
