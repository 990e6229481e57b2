"""Secrets in text: which are found, which ordinary code is left alone, how they are masked and redacted.

Fake secrets are assembled from pieces at run time so that this file itself never holds a string of a
real token's shape (secret scanners on a forge would flag it).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings, strategies as st

from buddy_tui.context.attachments import is_sensitive
from buddy_tui.context.secrets import LINE_CHARS, SCAN_CHARS, SecretFinding, find_secrets, redact

AWS_ID = "AK" + "IA" + "QWERTYUIOPASDF12"
AWS_TEMP_ID = "AS" + "IA" + "ZXCVBNMLKJHGFD34"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "zzzzKEY123"
GITHUB = "gh" + "p_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"
GITHUB_OAUTH = "gh" + "o_" + "Zy8Xw7Vu6Ts5Rq4Po3Nm2Lk1Ji0Hg9Fe8Dc7Ba6"
GITHUB_PAT = ("github" + "_pat_" + "11ABCDEFG0123456789abc_"
              + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1De3Fg5Hi7Jk9Lm1No3Pq5Rs7Tu9Vw1")
GITLAB = "gl" + "pat-" + "Ab3De5Gh7Jk9Mn1Pq3St"
SLACK = "xo" + "xb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
STRIPE = "sk" + "_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_RESTRICTED = "rk" + "_live_" + "51H8dK2LkQ9zYxWvUt7SrQp"
GOOGLE = "AI" + "za" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"
ANTHROPIC = "sk" + "-ant-" + "api03-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1De3Fg5Hi7Jk9Lm1No3Pq5Rs7Tu9Vw1Xy3Za5Bc7De9Fg1Hi3Jk5"
OPENAI = "sk" + "-proj-" + "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1De3Fg5Hi7"
JWT = ("ey" + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0"
       + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
KEY_LINES = ["MIIEowIBAAKCAQEA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4Y5z6",
             "Zq1Wx2Ec3Rv4Tb5Yn6Um7Ik8Ol9Pa0Sd1Fg2Hj3Kl4Zx5Cv6Bn7Mq8We9Rt0Yu1Io2",
             "Hj3Kl4Zx5Cv6Bn7Mq8We9Rt0Yu1Io2Pa3Sd4Fg5=="]
PEM = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_LINES) + "\n-----END RSA PRIVATE KEY-----"
PEM_ESCAPED = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(KEY_LINES) + "\\n-----END PRIVATE KEY-----\\n"


def _only(text: str) -> SecretFinding:
    findings = find_secrets(text)
    assert len(findings) == 1, findings
    return findings[0]


POSITIVES = [
    # (text, kind, the secret as it stands in the text)
    (f"AWS_ACCESS_KEY_ID={AWS_ID}\n", "AWS access key", AWS_ID),
    (f'aws_access_key_id: "{AWS_TEMP_ID}"', "AWS access key", AWS_TEMP_ID),
    (f"[default]\naws_secret_access_key = {AWS_SECRET}\n", "AWS secret key", AWS_SECRET),
    (f'{{"SecretAccessKey": "{AWS_SECRET}"}}', "AWS secret key", AWS_SECRET),
    (f"export AWS_SECRET_ACCESS_KEY='{AWS_SECRET}'", "AWS secret key", AWS_SECRET),
    (f"GITHUB_TOKEN={GITHUB}", "GitHub token", GITHUB),
    (f"git clone https://{GITHUB_OAUTH}@github.com/org/repo.git", "GitHub token", GITHUB_OAUTH),
    (f'const gh = "{GITHUB_PAT}";', "GitHub token", GITHUB_PAT),
    (f"gitlab:\n  token: {GITLAB}\n", "GitLab token", GITLAB),
    (f'SLACK_BOT_TOKEN="{SLACK}"', "Slack token", SLACK),
    (f"stripe.api_key = '{STRIPE}'", "Stripe key", STRIPE),
    (f'[stripe]\nrestricted = "{STRIPE_RESTRICTED}"', "Stripe key", STRIPE_RESTRICTED),
    (f"<string name=\"maps_key\">{GOOGLE}</string>", "Google API key", GOOGLE),
    (f"ANTHROPIC_API_KEY={ANTHROPIC}", "Anthropic API key", ANTHROPIC),
    (f'client = Anthropic(api_key="{ANTHROPIC}")', "Anthropic API key", ANTHROPIC),
    (f'{{"openai": {{"key": "{OPENAI}"}}}}', "OpenAI API key", OPENAI),
    (f"OPENAI_API_KEY={OPENAI}", "OpenAI API key", OPENAI),
    (f"session = {JWT}", "JWT", JWT),
    (f'fetch(url, {{ headers: {{ Authorization: "Bearer {JWT}" }} }})', "JWT", JWT),
    ("curl -H 'Authorization: Bearer Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz' https://api.test", "bearer token",
     "Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz"),
    ("DATABASE_URL=postgres://app:s3cr3t-pw@db/orders", "password", "s3cr3t-pw"),
    ('engine = create_engine("mysql+pymysql://svc:Tr0ub4dor3@10.0.0.5:3306/shop")', "password", "Tr0ub4dor3"),
    ("cache: redis://:p@ss@word9@cache:6379/0", "password", "p@ss@word9"),
    # generic assignments, in the styles of .env, YAML, JSON, TOML, INI, Python, JS, Go, PHP, Java properties
    ("DB_PASSWORD=supersecret", "password", "supersecret"),
    ("export SMTP_PASS=hunter2hunter2", "password", "hunter2hunter2"),
    ("services:\n  db:\n    environment:\n      - POSTGRES_PASSWORD=postgrespw\n", "password", "postgrespw"),
    ("database:\n  password: Hunt3r-2-Hunt3r\n", "password", "Hunt3r-2-Hunt3r"),
    ('database:\n  password: "hunter2hunter2"\n', "password", "hunter2hunter2"),
    ('{"db": {"user": "app", "password": "Zx9Yw8Vu7Ts6"}}', "password", "Zx9Yw8Vu7Ts6"),
    ('[auth]\nclient_secret = "Zx9Yw8Vu7Ts6Rq5P"\n', "secret", "Zx9Yw8Vu7Ts6Rq5P"),
    ("[smtp]\npasswd = m41l-s3rv3r!\n", "password", "m41l-s3rv3r!"),
    ('SECRET_KEY = "django-insecure-8f#k2$x9!q"', "secret", "django-insecure-8f#k2$x9!q"),
    ('api_key: str = "q1w2e3r4t5y6u7i8"', "API key", "q1w2e3r4t5y6u7i8"),
    ("self.token = 'a1b2c3d4e5f6g7h8'", "token", "a1b2c3d4e5f6g7h8"),
    ('os.environ["SERVICE_TOKEN"] = "a1b2c3d4e5f6g7h8"', "token", "a1b2c3d4e5f6g7h8"),
    ("const config = { apiKey: 'Qw3rTy8UiOp2', debug: true };", "API key", "Qw3rTy8UiOp2"),
    ('password := "g0-p4ssw0rd"', "password", "g0-p4ssw0rd"),
    ("$config = ['db_password' => 'ph9-s3cr3t'];", "password", "ph9-s3cr3t"),
    ("spring.datasource.password=Tr0ub4dor&3", "password", "Tr0ub4dor&3"),
    ('private_key = "Zm9vYmFyYmF6cXV4MTIz"', "private key", "Zm9vYmFyYmF6cXV4MTIz"),
    ("Server=db;Database=shop;User Id=app;Password=Pa55w0rd99;", "password", "Pa55w0rd99"),
    ("apiVersion: v1\nkind: Secret\ndata:\n  password: cGFzc3dvcmQxMjM0NQ==\n", "password", "cGFzc3dvcmQxMjM0NQ=="),
    (f"key = '''{PEM}'''\n", "private key block", PEM),
    (f'{{"type": "service_account", "private_key": "{PEM_ESCAPED}"}}', "private key block",
     PEM_ESCAPED.removesuffix("\\n")),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(KEY_LINES[:2]) + "\n", "private key block",
     "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "\n".join(KEY_LINES[:2])),  # cut short: no END line
]


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_finds_each_kind_of_secret(text: str, kind: str, secret: str) -> None:
    finding = _only(text)
    assert (finding.kind, text[finding.start:finding.end]) == (kind, secret)
    assert finding.line == text.count("\n", 0, finding.start) + 1


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_preview_never_shows_the_whole_secret(text: str, kind: str, secret: str) -> None:
    preview = _only(text).preview
    assert "\u2026" in preview
    assert secret not in preview
    assert len(preview.replace("\u2026", "")) <= max(len(secret) // 2, 2) or kind == "private key block"


@pytest.mark.parametrize(("text", "kind", "secret"), POSITIVES)
def test_redaction_removes_the_secret_and_keeps_the_rest(text: str, kind: str, secret: str) -> None:
    findings = find_secrets(text)
    redacted = redact(text, findings)
    assert secret not in redacted
    assert redacted == text.replace(secret, f"[REDACTED:{kind}]", 1)
    assert find_secrets(redacted) == []  # redacting twice changes nothing


NEGATIVES = [
    'password = request.form["password"]',
    "token = get_token()",
    "def secret_handler():\n    return None\n",
    "password = os.environ['DB_PASSWORD']",
    'api_key = os.getenv("ANTHROPIC_API_KEY")',
    "token = process.env.GITHUB_TOKEN;",
    "api_key = settings.ANTHROPIC_API_KEY",
    "secret = secrets.token_hex(32)",
    "connect(host=h, user=u, password=db_password)",
    "client = Client(\n    api_key=api_key,\n    token=token,\n)",
    '{"user": user, "password": password}',
    "password: str",
    "token: Optional[str] = None",
    'api_key: str = ""',
    "max_tokens = 4096",
    "PASSWORD_MIN_LENGTH = 12",
    "if password == confirm_password:",
    "password_hash = make_password(raw)",
    "const { token } = useAuth();",
    "password: userPassword,",
    '<input type="password" name="password" autocomplete="current-password">',
    'grant = {"grant_type": "refresh_token"}',
    'token_type = "bearer"',
    "Authorization: Bearer <token>",
    'password: "Password must be at least 8 characters"',
    "# set the password with `buddy config password`",
    'ENV_API_KEY = "ANTHROPIC_API_KEY"',  # the name of a variable, not its value
    'CHALLENGE_PASSWORD: "challengePassword",',
    'def sign(private_key: "_RSAPrivateKey", data: bytes) -> bytes:',  # a type annotation
    "_token = r'(?:[%s]+|%s)' % (punctuation, core)",
    "token = r\"[-!#$%&'*+.^_`|~0-9a-zA-Z]+\"",  # a regular expression
    'private_key = "/etc/ssl/private/server.key"',  # where the key is
    'token_url = "https://auth.test/oauth/token"',
    'token = "https://auth.test/oauth/token"',
    'url = "https://jo:s3cr3t-pw@www.example.com/"',  # documentation's example host
    # placeholders
    'password = ""',
    "password = 'changeme'",
    'DB_PASSWORD="${DB_PASSWORD}"',
    "DB_PASSWORD=$DB_PASSWORD",
    "api_key: <your-key>",
    "token: xxxxxxxxxxxx",
    'secret: "********"',
    "password: {{ vault_db_password }}",
    'API_KEY = "your-api-key-here"',
    'password = "example-password"',
    "password = hunter2",  # too short for a generic assignment
    "DATABASE_URL=postgres://${DB_USER}:${DB_PASSWORD}@db/orders",
    "postgres://user:password@localhost/db",
    "https://docs.test/path?id=3",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    "AWS_ACCESS_KEY_ID=" + "AKIA" + "IOSFODNN7EXAMPLE",
    "sk-this-is-a-long-css-class-name-in-kebab-case",
    # mentions of a private key that are not one
    'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    return True\n',
    'BEGIN = "-----BEGIN PRIVATE KEY-----"\nEND = "-----END PRIVATE KEY-----"\n',
    "",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_ordinary_code_and_placeholders_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == []


def test_redaction_format_for_a_database_url() -> None:
    text = "DATABASE_URL=postgres://app:s3cr3t-pw@db/orders\nDEBUG=1\n"
    assert redact(text, find_secrets(text)) == "DATABASE_URL=postgres://app:[REDACTED:password]@db/orders\nDEBUG=1\n"


def test_redacts_every_secret_in_a_file_and_keeps_the_rest() -> None:
    text = (f"# settings\nAWS_ACCESS_KEY_ID={AWS_ID}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nDEBUG=true\n"
            f"key: |\n  {PEM.replace(chr(10), chr(10) + '  ')}\n"
            f"both = ['{GITHUB}', '{GITLAB}']\nDB_PASSWORD=supersecret # rotate monthly\n")
    findings = find_secrets(text)
    assert [(f.line, f.kind) for f in findings] == [
        (2, "AWS access key"), (3, "AWS secret key"), (6, "private key block"),
        (11, "GitHub token"), (11, "GitLab token"), (12, "password")]
    redacted = redact(text, findings)
    for secret in (AWS_ID, AWS_SECRET, GITHUB, GITLAB, "supersecret", *KEY_LINES):
        assert secret not in redacted
    assert redacted == (
        "# settings\nAWS_ACCESS_KEY_ID=[REDACTED:AWS access key]\nAWS_SECRET_ACCESS_KEY=[REDACTED:AWS secret key]\n"
        "DEBUG=true\nkey: |\n  [REDACTED:private key block]\n"
        "both = ['[REDACTED:GitHub token]', '[REDACTED:GitLab token]']\n"
        "DB_PASSWORD=[REDACTED:password] # rotate monthly\n")


def test_line_numbers_count_from_one_and_follow_crlf_files() -> None:
    text = f"first\r\nsecond\r\nTOKEN={GITHUB}\r\n\r\nAWS={AWS_ID}"
    assert [(f.line, f.kind) for f in find_secrets(text)] == [(3, "GitHub token"), (5, "AWS access key")]
    assert _only(GITHUB).line == 1


def test_findings_do_not_overlap_and_specific_formats_win() -> None:
    finding = _only(f'GITHUB_TOKEN="{GITHUB}"')  # also a generic "token" assignment
    assert finding.kind == "GitHub token"
    finding = _only(f'"token": "Bearer {JWT}"')
    assert finding.kind == "JWT"


def test_no_cap_lets_a_secret_through() -> None:
    keys = ["AK" + "IA" + "QWERTYUIOPAS" + f"{n:04d}" for n in range(1, 101)]
    text = "\n".join(f"key{n} = {key}" for n, key in enumerate(keys))
    findings = find_secrets(text, limit=10)  # a limit is for display only
    assert [text[f.start:f.end] for f in findings] == keys[:10]
    assert find_secrets(text, limit=0) == []
    assert [text[f.start:f.end] for f in find_secrets(text)] == keys
    redacted = redact(text, find_secrets(text))
    assert not any(key in redacted for key in keys)


def test_a_secret_deep_in_a_long_line_is_found() -> None:
    filler = ",".join(f'"k{n}": "{n:08d}"' for n in range(4_000))  # minified JSON, ~64,000 characters on one line
    text = "{" + filler + f', "password": "Zx9Yw8Vu7Ts6", "github": "{GITHUB}"' + "}"
    assert len(text) > 5 * LINE_CHARS
    assert [f.kind for f in find_secrets(text)] == ["password", "GitHub token"]


def test_only_the_head_of_a_huge_text_is_searched() -> None:
    head = f"TOKEN={GITHUB}\n"
    text = head + "x = 1\n" * ((SCAN_CHARS // 6) + 10) + f"AWS={AWS_ID}\n"
    assert [f.kind for f in find_secrets(text)] == ["GitHub token"]


AWKWARD = [
    "password token secret AKIA eyJ sk- ://a:b@ \n",
    "eyJ" * 50,
    'password="' * 20 + "\n",
    "-----BEGIN RSA PRIVATE KEY-----\n",
    "a" * 9_999 + "\n",
    "x://y:" * 100,
]


@pytest.mark.parametrize("chunk", AWKWARD)
def test_five_megabytes_of_awkward_text_finish(chunk: str) -> None:
    text = (chunk * (5_000_000 // len(chunk) + 1))[:5_000_000]
    started = time.perf_counter()
    findings = find_secrets(text)
    assert all(0 <= f.start < f.end <= len(text) for f in findings)
    print(f"{chunk[:20]!r}: {time.perf_counter() - started:.2f}s")  # informative only, no assertion on time


def test_redact_tolerates_overlapping_unsorted_and_foreign_findings() -> None:
    text = "abcdefghij"
    findings = [SecretFinding("b", 1, 5, 8, "…"), SecretFinding("a", 1, 1, 6, "…"),
                SecretFinding("far", 1, 8, 40, "…"), SecretFinding("empty", 1, 3, 3, "…")]
    assert redact(text, findings) == "a[REDACTED:a]ij"
    assert redact(text, []) == text


FRAGMENTS = ["password", "PASSWORD", "token", "_secret", "api_key", " = ", "=", ": ", '"', "'", "`", "\n", "\r\n",
             "${", "}", "(", ")", "[", "]", "AKIA", "ghp_", "sk-ant-", "sk-", "eyJ", ".", "://", ":", "@", "/",
             "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "\\n", "MIIEowIBAAKCAQEA1b2C3d4",
             "Zx9Yw8Vu7Ts6", "Bearer ", "xoxb-", "glpat-", "AIza", "0123456789", "ABCDEFGHIJKLMNOP", " ", "#", ";"]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=60).map("".join)))
def test_find_secrets_never_raises_and_offsets_fit_the_text(text: str) -> None:
    findings = find_secrets(text)
    previous_end = 0
    for finding in findings:
        assert 0 <= finding.start < finding.end <= len(text)
        assert finding.start >= previous_end  # sorted, no overlaps
        assert finding.line == text.count("\n", 0, finding.start) + 1
        assert text[finding.start:finding.end] not in finding.preview
        previous_end = finding.end
    redacted = redact(text, findings)
    assert redacted.count("[REDACTED:") >= len(findings)


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [("known_hosts", True), ("authorized_keys", True), ("app.db", True), ("data.sqlite3", True),
     ("api_key.txt", True), ("apikeys.json", True), ("api-keys.yaml", True), ("token.json", True),
     ("passwords.txt", True), ("gcp-credentials.json", True), ("firebase-serviceAccount.json", True),
     (".azure/config", True), ("home/.config/gcloud/adc.json", True), ("infra/.terraform/state.json", True),
     (".vercel/project.json", True), (".netlify/state.json", True), (".supabase/config.toml", True),
     ("tokenizer.py", False), ("db.py", False), ("dashboard.py", False), ("api.py", False),
     ("passport.md", False), ("keys.md", False)],
)
def test_file_guard_names_are_sensitive(name: str, sensitive: bool) -> None:
    assert is_sensitive(name) is sensitive
