"""A corpus of fake credentials built from each vendor's documented format, and decoys that are not.

``samples()`` gives at least one realistic sample per token family in several contexts (a .env
line, YAML, JSON, a string in code, a URL, a docker config.json, a multi-line PEM block); every
``Sample.secret`` must be found and redacted. ``decoys()`` gives text that must NOT be flagged:
placeholders, code that only names a secret, hashes, UUIDs and base64 in ordinary code.

Everything is generated at run time from a fixed seed, so the corpus is the same on every run and
this file holds no string of a real token's shape. Used by tests/test_secret_rules.py, by
benchmarks/bench_secrets.py and by tests that feed the corpus through the whole app.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

SEED = 16
LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = LOWER + UPPER + DIGITS
HEX = DIGITS + "abcdef"
UPPER_ALNUM = UPPER + DIGITS
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
_BAD = ("example", "dummy", "xxxxx", "placeholder")


@dataclass(frozen=True)
class Sample:
    """``text`` as it would stand in a file; ``secret`` must not survive redaction."""

    kind: str  # the token family
    context: str  # env, yaml, json, code, url, docker, pem, ...
    text: str
    secret: str


class _Gen:
    """Random strings over an alphabet that look like real tokens (mixed classes, no placeholder words)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def s(self, alphabet: str, n: int) -> str:
        while True:
            value = "".join(self.rng.choice(alphabet) for _ in range(n))
            classes = [c for c in (LOWER, UPPER, DIGITS) if set(c) & set(alphabet)]
            mixed = n < 3 * len(classes) or all(any(ch in c for ch in value) for c in classes)
            runs = any(value[i] * 6 in value for i in range(len(value)))
            if mixed and not runs and not any(bad in value.lower() for bad in _BAD):
                return value

    def digits(self, n: int) -> str:
        return str(self.rng.randint(10 ** (n - 1), 10 ** n - 1))

    def uuid(self) -> str:
        return "-".join(self.s(HEX, n) for n in (8, 4, 4, 4, 12))


Maker = Callable[[_Gen], str]

#: (family, how a token of that family is made) for formats that identify themselves.
TOKENS: tuple[tuple[str, Maker], ...] = (
    ("AWS access key", lambda g: "AK" + "IA" + g.s(UPPER_ALNUM, 16)),
    ("AWS session key id", lambda g: "AS" + "IA" + g.s(UPPER_ALNUM, 16)),
    ("Google API key", lambda g: "AI" + "za" + g.s(B64URL, 35)),
    ("Google OAuth client secret", lambda g: "GOC" + "SPX-" + g.s(B64URL, 28)),
    ("Google OAuth token", lambda g: "ya" + "29." + g.s(B64URL, 120)),
    ("Azure AD client secret", lambda g: g.s(ALNUM, 3) + g.s(DIGITS, 1) + "Q~" + g.s(ALNUM + "_~.-", 34)),
    ("Azure DevOps token", lambda g: g.s(ALNUM, 52) + "JQQJ99" + g.s(ALNUM, 3) + "AZDO" + g.s(ALNUM, 4)),
    ("DigitalOcean token", lambda g: "do" + "p_v1_" + g.s(HEX, 64)),
    ("DigitalOcean OAuth token", lambda g: "do" + "o_v1_" + g.s(HEX, 64)),
    ("Alibaba access key", lambda g: "LT" + "AI" + g.s(ALNUM, 20)),
    ("Heroku API key", lambda g: "HR" + "KU-AA" + g.s(B64URL, 58)),
    ("Cloudflare origin CA key", lambda g: "v1" + ".0-" + g.s(HEX, 24) + "-" + g.s(HEX, 146)),
    ("Fly.io token", lambda g: "fo" + "1_" + g.s(B64URL, 43)),
    ("Fly.io macaroon", lambda g: "fm" + "2_" + g.s(B64, 180)),
    ("Netlify token", lambda g: "nf" + "p_" + g.s(ALNUM, 36)),
    ("Vercel token", lambda g: "vc" + "p_" + g.s(ALNUM, 56)),
    ("Supabase key", lambda g: "sb" + "p_" + g.s(HEX, 40)),
    ("Supabase secret key", lambda g: "sb" + "_secret_" + g.s(B64URL, 32)),
    ("PlanetScale token", lambda g: "pscale" + "_tkn_" + g.s(B64URL, 43)),
    ("GitHub personal token", lambda g: "gh" + "p_" + g.s(ALNUM, 36)),
    ("GitHub OAuth token", lambda g: "gh" + "o_" + g.s(ALNUM, 36)),
    ("GitHub app token", lambda g: "gh" + "s_" + g.s(ALNUM, 36)),
    ("GitHub refresh token", lambda g: "gh" + "r_" + g.s(ALNUM, 76)),
    ("GitHub fine-grained token", lambda g: "github" + "_pat_" + g.s(ALNUM, 22) + "_" + g.s(ALNUM, 59)),
    ("GitLab personal token", lambda g: "gl" + "pat-" + g.s(B64URL, 20)),
    ("GitLab deploy token", lambda g: "gl" + "dt-" + g.s(B64URL, 20)),
    ("GitLab runner token", lambda g: "gl" + "rt-" + g.s(B64URL, 20)),
    ("GitLab CI job token", lambda g: "gl" + "cbt-" + g.s(HEX, 2) + "_" + g.s(B64URL, 20)),
    ("GitLab trigger token", lambda g: "gl" + "ptt-" + g.s(HEX, 40)),
    ("GitLab runner registration", lambda g: "GR" + "1348941" + g.s(B64URL, 20)),
    ("Bitbucket app password", lambda g: "AT" + "BB" + g.s(ALNUM, 32)),
    ("npm token", lambda g: "np" + "m_" + g.s(ALNUM, 36)),
    ("PyPI token", lambda g: "py" + "pi-AgEIcHlwaS5vcmc" + g.s(B64URL, 150)),
    ("RubyGems key", lambda g: "ruby" + "gems_" + g.s(HEX, 48)),
    ("NuGet key", lambda g: "oy" + "2" + g.s(LOWER + DIGITS, 43)),
    ("Docker Hub token", lambda g: "dc" + "kr_pat_" + g.s(B64URL, 27)),
    ("CircleCI token", lambda g: "CCI" + "PAT_" + g.s(ALNUM, 22) + "_" + g.s(HEX, 40)),
    ("Vault service token", lambda g: "hv" + "s." + g.s(B64URL, 90)),
    ("Vault batch token", lambda g: "hv" + "b." + g.s(B64URL, 138)),
    ("Terraform Cloud token", lambda g: g.s(ALNUM, 14) + ".atlas" + "v1." + g.s(B64URL, 67)),
    ("Doppler token", lambda g: "dp" + ".pt." + g.s(ALNUM, 43)),
    ("Pulumi token", lambda g: "pu" + "l-" + g.s(HEX, 40)),
    ("Postman key", lambda g: "PM" + "AK-" + g.s(HEX, 24) + "-" + g.s(HEX, 34)),
    ("Databricks token", lambda g: "da" + "pi" + g.s(HEX, 32)),
    ("1Password service token", lambda g: "op" + "s_eyJ" + g.s(B64, 300)),
    ("1Password secret key", lambda g: "A3" + "-" + "-".join(g.s(UPPER_ALNUM, n) for n in (6, 6, 5, 5, 5, 5))),
    ("Sourcegraph token", lambda g: "sg" + "p_" + g.s(HEX, 16) + "_" + g.s(HEX, 40)),
    ("OpenShift token", lambda g: "sha" + "256~" + g.s(B64URL, 43)),
    ("Harness token", lambda g: "pa" + "t." + g.s(B64URL, 22) + "." + g.s(HEX, 24) + "." + g.s(ALNUM, 20)),
    ("Prefect key", lambda g: "pn" + "u_" + g.s(ALNUM, 36)),
    ("Contentful token", lambda g: "CF" + "PAT-" + g.s(B64URL, 43)),
    ("Clojars token", lambda g: "CLO" + "JARS_" + g.s(LOWER + DIGITS, 60)),
    ("Infracost key", lambda g: "ic" + "o-" + g.s(ALNUM, 32)),
    ("Frame.io token", lambda g: "fio" + "-u-" + g.s(B64URL, 64)),
    ("ReadMe key", lambda g: "rd" + "me_" + g.s(LOWER + DIGITS, 70)),
    ("Slack bot token", lambda g: "xo" + "xb-" + g.digits(12) + "-" + g.digits(13) + "-" + g.s(ALNUM, 24)),
    ("Slack user token", lambda g: "xo" + "xp-" + g.digits(12) + "-" + g.digits(12) + "-" + g.digits(13)
     + "-" + g.s(HEX, 32)),
    ("Slack app token", lambda g: "xa" + "pp-1-" + g.s(UPPER_ALNUM, 11) + "-" + g.digits(13) + "-" + g.s(HEX, 64)),
    ("Slack config token", lambda g: "xo" + "xe.xoxp-1-" + g.s(ALNUM, 160)),
    ("Telegram bot token", lambda g: g.digits(10) + ":" + "AA" + g.s(B64URL, 33)),
    ("Stripe secret key", lambda g: "sk" + "_live_" + g.s(ALNUM, 99)),
    ("Stripe test key", lambda g: "sk" + "_test_" + g.s(ALNUM, 24)),
    ("Stripe restricted key", lambda g: "rk" + "_live_" + g.s(ALNUM, 99)),
    ("Stripe webhook secret", lambda g: "wh" + "sec_" + g.s(ALNUM, 32)),
    ("Square access token", lambda g: "sq" + "0atp-" + g.s(B64URL, 22)),
    ("Square OAuth secret", lambda g: "sq" + "0csp-" + g.s(B64URL, 43)),
    ("Square production token", lambda g: "EA" + "AA" + g.s(B64URL, 60)),
    ("PayPal Braintree token", lambda g: "access" + "_token$production$" + g.s(LOWER + DIGITS, 16) + "$"
     + g.s(HEX, 32)),
    ("Shopify token", lambda g: "sh" + "pat_" + g.s(HEX, 32)),
    ("Shopify shared secret", lambda g: "sh" + "pss_" + g.s(HEX, 32)),
    ("Flutterwave key", lambda g: "FLW" + "SECK_TEST-" + g.s(HEX, 32) + "-X"),
    ("Duffel token", lambda g: "duf" + "fel_live_" + g.s(B64URL, 43)),
    ("EasyPost key", lambda g: "EZ" + "AK" + g.s(ALNUM, 54)),
    ("Shippo token", lambda g: "ship" + "po_live_" + g.s(HEX, 40)),
    ("Plaid access token", lambda g: "access" + "-production-" + g.uuid()),
    ("New Relic user key", lambda g: "NR" + "AK-" + g.s(UPPER_ALNUM, 27)),
    ("New Relic insert key", lambda g: "NR" + "II-" + g.s(B64URL.replace("-", ""), 32)),
    ("New Relic license key", lambda g: g.s(HEX, 36) + "NR" + "AL"),
    ("Sentry org token", lambda g: "sn" + "trys_eyJ" + g.s(B64, 120) + "_" + g.s(B64, 43)),
    ("Sentry user token", lambda g: "sn" + "tryu_" + g.s(HEX, 64)),
    ("Grafana cloud token", lambda g: "gl" + "c_" + g.s(B64, 120) + "=="),
    ("Grafana service account token", lambda g: "gl" + "sa_" + g.s(ALNUM, 32) + "_" + g.s(HEX, 8)),
    ("Grafana API key", lambda g: "eyJr" + "Ijoi" + g.s(ALNUM, 80) + "="),
    ("Dynatrace token", lambda g: "dt" + "0c01." + g.s(UPPER_ALNUM, 24) + "." + g.s(UPPER_ALNUM, 64)),
    ("Anthropic API key", lambda g: "sk" + "-ant-api03-" + g.s(B64URL, 93) + "AA"),
    ("Anthropic admin key", lambda g: "sk" + "-ant-admin01-" + g.s(B64URL, 93) + "AA"),
    ("OpenAI project key", lambda g: "sk" + "-proj-" + g.s(B64URL, 156)),
    ("OpenAI service account key", lambda g: "sk" + "-svcacct-" + g.s(B64URL, 156)),
    ("OpenAI legacy key", lambda g: "sk" + "-" + g.s(ALNUM, 20) + "T3Blbk" + "FJ" + g.s(ALNUM, 20)),
    ("Hugging Face token", lambda g: "hf" + "_" + g.s(LOWER + UPPER, 34)),
    ("Groq API key", lambda g: "gs" + "k_" + g.s(ALNUM, 52)),
    ("Perplexity API key", lambda g: "pp" + "lx-" + g.s(ALNUM, 48)),
    ("Replicate token", lambda g: "r8" + "_" + g.s(ALNUM, 37)),
    ("xAI API key", lambda g: "xa" + "i-" + g.s(ALNUM, 80)),
    ("Twilio API key", lambda g: "SK" + g.s(HEX, 32)),
    ("SendGrid key", lambda g: "SG" + "." + g.s(B64URL, 22) + "." + g.s(B64URL, 43)),
    ("Mailgun key", lambda g: "ke" + "y-" + g.s(HEX, 32)),
    ("Mailchimp key", lambda g: g.s(HEX, 32) + "-us" + g.digits(2)),
    ("Brevo key", lambda g: "xkey" + "sib-" + g.s(HEX, 64) + "-" + g.s(ALNUM, 16)),
    ("Atlassian API token", lambda g: "ATA" + "TT3xFfGF0" + g.s(B64URL, 180)),
    ("Linear key", lambda g: "lin" + "_api_" + g.s(ALNUM, 40)),
    ("Notion token", lambda g: "nt" + "n_" + g.digits(11) + g.s(ALNUM, 35)),
    ("Notion legacy token", lambda g: "sec" + "ret_" + g.s(ALNUM, 43)),
    ("Airtable token", lambda g: "pa" + "t" + g.s(ALNUM, 14) + "." + g.s(HEX, 64)),
    ("Adobe client secret", lambda g: "p8" + "e-" + g.s(ALNUM, 32)),
    ("Mapbox secret token", lambda g: "sk" + ".eyJ" + g.s(B64URL, 60) + "." + g.s(B64URL, 22)),
    ("Facebook token", lambda g: "EAAC" + "EdEose0cBA" + g.s(ALNUM, 120)),
    ("age secret key", lambda g: "AGE-" + "SECRET-KEY-1" + g.s(BECH32, 58)),
    ("JWT", lambda g: "ey" + "JhbGciOiJIUzI1NiJ9." + "eyJ" + g.s(B64URL, 60) + "." + g.s(B64URL, 43)),
)

#: Neutral names, so that each token is found by its format and not by the word "token" next to it.
_CONTEXTS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("env", lambda t: f"# service\nSERVICE_CREDENTIAL={t}\nDEBUG=0\n"),
    ("yaml", lambda t: f"service:\n  name: billing\n  credential: {t}\n"),
    ("json", lambda t: f'{{"service": "billing", "credential": "{t}", "retries": 3}}\n'),
    ("code", lambda t: f'client = Client("{t}", timeout=5)\n'),
)


def _pem(g: _Gen, label: str, lines: int, headers: str = "") -> str:
    body = "\n".join(g.s(B64, 64) for _ in range(lines)) + "\n" + g.s(B64, 20) + "=="
    return f"-----BEGIN {label}-----\n{headers}{body}\n-----END {label}-----"


def _special(g: _Gen) -> list[Sample]:
    """Families that need their own context: URLs, keyword-tied values, files, key blocks."""
    out: list[Sample] = []

    def add(kind: str, context: str, text: str, secret: str) -> None:
        out.append(Sample(kind, context, text, secret))

    aws_secret = g.s(B64, 40)
    add("AWS secret key", "ini", f"[default]\naws_access_key_id = AK{'IA'}{g.s(UPPER_ALNUM, 16)}\n"
        f"aws_secret_access_key = {aws_secret}\n", aws_secret)
    session = g.s(B64, 300)
    add("AWS session token", "ini", f"[tmp]\naws_session_token = {session}\n", session)
    account_key = g.s(B64, 86) + "=="
    add("Azure storage key", "connection string", "STORAGE=DefaultEndpointsProtocol=https;AccountName=billing;"
        f"AccountKey={account_key};EndpointSuffix=core.windows.net\n", account_key)
    bus_key = g.s(B64, 43) + "="
    add("Azure Service Bus key", "connection string", "Endpoint=sb://billing.servicebus.windows.net/;"
        f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={bus_key}\n", bus_key)
    sig = g.s(ALNUM, 40) + "%2B" + g.s(ALNUM, 4) + "%3D"
    add("Azure SAS signature", "url", f"url = \"https://billing.blob.core.windows.net/c/f.csv?sv=2022-11-02&ss=b"
        f"&srt=o&sp=r&se=2030-01-01T00:00:00Z&sig={sig}\"\n", sig)
    gcp_key = _pem(g, "PRIVATE KEY", 6).replace("\n", "\\n")
    add("GCP service account key", "json", '{"type": "service_account", "project_id": "billing",\n'
        f' "private_key_id": "{g.s(HEX, 40)}",\n "private_key": "{gcp_key}\\n",\n'
        ' "client_email": "svc@billing.iam.gserviceaccount.com"}\n', gcp_key)
    slack_path = f"T{g.s(UPPER_ALNUM, 10)}/B{g.s(UPPER_ALNUM, 10)}/{g.s(ALNUM, 24)}"
    add("Slack webhook", "url", f"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/{slack_path}\n", slack_path)
    discord = g.s(B64URL, 68)
    add("Discord webhook", "url", f'webhook: "https://discord.com/api/webhooks/{g.digits(19)}/{discord}"\n', discord)
    teams = f"{g.uuid()}@{g.uuid()}/IncomingWebhook/{g.s(HEX, 32)}/{g.uuid()}"
    add("Microsoft Teams webhook", "url", f"teams_url = 'https://contoso.webhook.office.com/webhookb2/{teams}'\n",
        teams)
    telegram = g.digits(10) + ":AA" + g.s(B64URL, 33)
    add("Telegram bot token", "url", f"curl https://api.telegram.org/bot{telegram}/getMe\n", telegram)
    dsn_key = g.s(HEX, 32)
    add("Sentry DSN", "url", f'SENTRY_DSN="https://{dsn_key}@o{g.digits(6)}.ingest.sentry.io/{g.digits(7)}"\n',
        dsn_key)
    db_password = g.s(ALNUM, 18)
    add("URL password", "url", f"DATABASE_URL=postgres://billing:{db_password}@db.internal:5432/billing\n",
        db_password)
    user_pass = f"deploy:{g.s(ALNUM, 20)}"
    auth = base64.b64encode(user_pass.encode()).decode()
    add("Docker registry auth", "docker", '{\n  "auths": {\n    "registry.example.io": {\n'
        f'      "auth": "{auth}"\n    }}\n  }}\n}}\n'.replace("}}", "}"), auth)
    basic = base64.b64encode(f"admin:{g.s(ALNUM, 16)}".encode()).decode()
    add("HTTP basic credentials", "code", f'headers = {{"Authorization": "Basic {basic}"}}\n', basic)
    vault_old = "s." + g.s(ALNUM, 24)
    add("Vault legacy token", "env", f"export VAULT_TOKEN={vault_old}\n", vault_old)
    vault_header = "s." + g.s(ALNUM, 24)
    add("Vault legacy token", "http", f"X-Vault-Token: {vault_header}\n", vault_header)
    dd_key = g.s(HEX, 40)
    add("Datadog application key", "yaml", f"datadog:\n  dd_app_key: {dd_key}\n", dd_key)
    okta = "00" + g.s(B64URL, 40)
    add("Okta token", "http", f"Authorization: SSWS {okta}\n", okta)
    bearer = g.s(B64URL, 40)
    add("bearer token", "http", f"curl -H 'Authorization: Bearer {bearer}' https://api.billing.io/v1\n", bearer)
    password = g.s(ALNUM + "!#%", 16)
    add("password", "env", f"DB_PASSWORD={password}\n", password)
    api_key = g.s(HEX, 32)
    add("generic API key", "yaml", f"cohere:\n  api_key: {api_key}\n", api_key)
    for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
                  "ENCRYPTED PRIVATE KEY"):
        pem = _pem(g, label, 8)
        add(f"{label.lower()} block", "pem", f"{pem}\n", pem)
    pem = _pem(g, "RSA PRIVATE KEY", 8, "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
               f"{g.s(HEX.upper(), 32)}\n\n")
    add("encrypted rsa private key block", "pem", f"{pem}\n", pem)
    pgp = _pem(g, "PGP PRIVATE KEY BLOCK", 10, "Version: GnuPG v2\n\n")
    pgp = pgp.replace("==\n-----END", f"==\n={g.s(B64, 4)}\n-----END")  # the armour checksum line
    add("pgp private key block", "pem", f"{pgp}\n", pgp)
    yaml_pem = _pem(g, "PRIVATE KEY", 6)
    add("private key block", "yaml", "tls:\n  key: |\n" + "".join(f"    {line}\n" for line in yaml_pem.splitlines()),
        yaml_pem.splitlines()[3])
    putty_private = "\n".join(g.s(B64, 64) for _ in range(3)) + "\n" + g.s(B64, 20) + "="
    putty = ("PuTTY-User-Key-File-3: ssh-rsa\nEncryption: none\nComment: deploy\nPublic-Lines: 2\n"
             f"{g.s(B64, 64)}\n{g.s(B64, 40)}\nPrivate-Lines: 4\n{putty_private}\nPrivate-MAC: {g.s(HEX, 64)}\n")
    add("PuTTY private key", "ppk", putty, putty_private)
    return out


def samples(seed: int = SEED) -> list[Sample]:
    """Every sample: each token family in each context, then the families with contexts of their own."""
    g = _Gen(seed)
    out = [Sample(kind, context, make_text(token), token)
           for kind, make in TOKENS for token in [make(g)] for context, make_text in _CONTEXTS]
    return out + _special(g)


def decoys(seed: int = SEED) -> list[str]:
    """Text that names secrets, looks random or is a placeholder, and must not be flagged."""
    g = _Gen(seed + 1)
    blob = base64.b64encode(bytes(g.rng.randrange(256) for _ in range(600))).decode()
    return [
        'password = request.form["password"]\n',
        "token = get_token()\napi_key = os.environ[\"API_KEY\"]\nsecret = settings.SECRET_KEY\n",
        "def check_password(self, password: str) -> bool:\n    return hmac.compare_digest(self._password, password)\n",
        "password_field = forms.CharField(widget=forms.PasswordInput)\n",
        "AWS_ACCESS_KEY_ID=AKIA" + "IOSFODNN7EXAMPLE\n",
        "GITHUB_TOKEN=ghp_" + "x" * 36 + "\n",
        "STRIPE_KEY=sk_" + "test_" + "x" * 24 + "\n",
        "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/" + "X" * 9 + "/" + "X" * 9 + "/" + "X" * 24 + "\n",
        "OPENAI_API_KEY=sk-your-openai-key-here\nANTHROPIC_API_KEY=<your-api-key>\n",
        "DATABASE_URL=postgres://user:${DB_PASSWORD}@localhost:5432/app\n",
        "Authorization: Bearer ${TOKEN}\n",
        'PEM_HEADER = "-----BEGIN PRIVATE KEY-----"\n',
        f'digest = "{g.s(HEX, 64)}"  # sha256 of the archive\n',
        f"commit {g.s(HEX, 40)}\nAuthor: Dev <dev@example.com>\n",
        f'request_id = "{g.uuid()}"\n',
        f'ICON = base64.b64decode(\n    "{blob}"\n)\n',
        f'"auth": "{base64.b64encode(b"username").decode()}"\n',
        f'TWILIO_ACCOUNT_SID = "AC{g.s(HEX, 32)}"\n',
        f'STRIPE_PUBLISHABLE_KEY = "pk_live_{g.s(ALNUM, 24)}"\n',
        'www_authenticate = \'Basic realm="Restricted"\'\n',
        "The task is skipped when the disk is full; ask the user.\n",
        'model = hf_hub_download(repo_id="gpt2", filename="config.json")\n',
        "version: 1.2.3\nport: 5432\nretries: 3\n",
        "sk-some-long-kebab-case-name-without-digits-here\n",
        "def get_secret_name(self) -> str:\n    return f\"{self.prefix}-secret\"\n",
        'headers["X-Vault-Token"] = vault_client.token\n',
    ]


def families() -> list[str]:
    """The name of every family in the corpus."""
    return sorted({s.kind for s in samples()})
