"""The scanner against the corpus of documented token formats (tests/secret_corpus.py), no cap on
findings, what is left unscanned, buddy-tui's own credentials, and redaction of a slice of a file."""

from __future__ import annotations

import pytest

from buddy_tui.context import secrets
from buddy_tui.context.secret_rules import TOKEN_RULES
from buddy_tui.context.secrets import SCAN_CHARS, find_secrets, redact, redact_scanned, redact_window, scan
from tests.secret_corpus import Sample, decoys, samples

SAMPLES = samples()
GITHUB = "gh" + "p_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5"


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: f"{s.kind}-{s.context}")
def test_every_corpus_credential_is_found_and_redacted(sample: Sample) -> None:
    redacted = redact(sample.text, find_secrets(sample.text))
    assert sample.secret not in redacted
    assert "[REDACTED:" in redacted


@pytest.mark.parametrize("text", decoys())
def test_decoys_are_left_alone(text: str) -> None:
    assert find_secrets(text) == []


def test_the_corpus_is_deterministic_and_covers_every_rule() -> None:
    assert samples() == SAMPLES
    assert len({s.kind for s in SAMPLES}) >= 100
    found_kinds = {f.kind for s in SAMPLES for f in find_secrets(s.text)}
    assert {rule.kind for rule in TOKEN_RULES} <= found_kinds


def test_eighty_tokens_in_one_file_are_all_redacted() -> None:
    tokens = [GITHUB[:-4] + f"{n:04d}" for n in range(80)]
    text = "services:\n" + "".join(f"  svc{n}:\n    token: {token}\n" for n, token in enumerate(tokens))
    findings = find_secrets(text)
    assert len(findings) == 80
    redacted = redact(text, findings)
    assert not any(token in redacted for token in tokens)


def test_a_huge_text_says_what_was_not_scanned() -> None:
    head = f"KEY={GITHUB}\n"
    tail = f"LATE={GITHUB[:-1]}Z\n"
    text = head + "x = 1\n" * (SCAN_CHARS // 6 + 10) + tail
    result = scan(text)
    assert not result.complete and result.scanned_to == SCAN_CHARS and result.length == len(text)
    assert [f.start for f in result.findings] == [4]
    out = redact_scanned(text, result)
    assert GITHUB not in out and GITHUB[:-1] + "Z" not in out
    assert out.endswith("characters withheld]")
    small = scan(head)
    assert small.complete and redact_scanned(head) == "KEY=[REDACTED:GitHub token]\n"


def test_buddy_tuis_own_credentials_are_found_whatever_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "plain words key 42")
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "short")
    text = "notes: plain words key 42 was pasted here; short is short\n"
    findings = find_secrets(text)
    assert [(f.kind, text[f.start:f.end]) for f in findings] == [("buddy-tui credential", "plain words key 42")]
    assert "plain words key 42" not in redact(text, findings)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "another-credential")  # read at each scan, not cached
    assert len(find_secrets(text + "another-credential\n")) == 2
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert find_secrets(text) == []


def _pem_file() -> tuple[str, list[str]]:
    sample = next(s for s in SAMPLES if s.kind == "rsa private key block")
    text = "# deploy key\n" + sample.text + "after = 1\n"
    return text, sample.secret.splitlines()[1:-1]


def test_a_private_key_read_in_parts_stays_redacted() -> None:
    text, body = _pem_file()
    start = text.index(body[2])
    end = text.index(body[5]) + len(body[5])
    part = redact_window(text, start, end)
    assert not any(line in part for line in body)
    assert part.startswith("[REDACTED:private key block]")
    assert find_secrets(text[start:end]) == []  # the slice alone looks like nothing: the old leak


def test_a_grep_of_key_lines_stays_redacted_and_other_lines_are_kept() -> None:
    text, body = _pem_file()
    for line in body:
        start = text.index(line)
        assert line not in redact_window(text, start, start + len(line))
    start = text.index("after = 1")
    assert redact_window(text, start, start + 9) == "after = 1"
    assert redact_window(text, 0, 12) == "# deploy key"


def test_a_window_cuts_a_token_and_redacts_only_its_part() -> None:
    text = f"first line\ntoken: {GITHUB}\nlast line\n"
    start = text.index(GITHUB) + 10
    assert redact_window(text, start, start + 5) == "[REDACTED:GitHub token]"
    assert redact_window(text, 0, text.index(GITHUB) + 4) == "first line\ntoken: [REDACTED:GitHub token]"
    assert redact_window(text, 5, 5) == "" and redact_window(text, -3, 5) == "first"


def test_a_window_past_the_scanned_head_is_scanned_on_its_own() -> None:
    text = "x = 1\n" * (SCAN_CHARS // 6 + 10) + f"LATE={GITHUB}\n"
    start = text.index("LATE=")
    assert redact_window(text, start, len(text)) == "LATE=[REDACTED:GitHub token]\n"


def test_repeated_windows_of_one_text_scan_it_once(monkeypatch: pytest.MonkeyPatch) -> None:
    text, body = _pem_file()
    calls = 0
    real = secrets._scan

    def counting(*args: object) -> secrets.Scan:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(secrets, "_scan", counting)
    monkeypatch.setattr(secrets, "_last_scan", None)
    for line in body:
        redact_window(text, text.index(line), text.index(line) + len(line))
    assert calls == 1


@pytest.mark.parametrize("needle", ["sk", "pat", "key-", "-us1", ":AA", "dapi", "eyJ", "hooks.slack.com/", "AKIA",
                                    "Basic ", '"auth": "', "sig=", "Q~", "glpat-", "PuTTY-User-Key-File-3:",
                                    "Private-Lines: 9\n", "-----BEGIN PRIVATE KEY-----\n"])
def test_awkward_repetitions_of_triggers_finish(needle: str) -> None:
    """Linear-time patterns: a megabyte of near-misses returns (no assertion on time, only that it ends)."""
    for chunk in (needle * 3 + "a" * 40 + "\n", needle + "A0" * 30, (needle + "x") * 20 + "\n"):
        text = (chunk * (1_000_000 // len(chunk) + 1))[:1_000_000]
        findings = find_secrets(text)
        assert all(0 <= f.start < f.end <= len(text) for f in findings)
