"""The secret scanner: recall on the corpus of documented token formats (tests/secret_corpus.py),
findings on library source code (anthropic, textual, rich, pydantic as installed), and speed, each
against the baseline scanner (buddy_tui/context/secrets.py at :data:`BASELINE`, loaded from git into
a temporary module) in the same run.

If ``detect-secrets`` is installed, it is measured on the same corpus and on a 1 MB slice of the
library sources (it is too slow for all of it) and reported in benchmarks/results/secrets.json;
otherwise that part is skipped.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.common import ROOT, Figure, median, write_results

#: The commit whose scanner is the baseline (the one before issue 16's scanner work).
BASELINE = "93cf49d"
LIBRARIES = ("anthropic", "textual", "rich", "pydantic")
DETECT_SECRETS_BYTES = 1_000_000

Finder = Callable[[str], Sequence[Any]]


def baseline_module() -> ModuleType:
    """The scanner as it was at :data:`BASELINE`, imported from a temporary file."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE}:buddy_tui/context/secrets.py"],
                            capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="bench-secrets-"))
    path = folder / "baseline_secrets.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_secrets", path)
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load the baseline scanner")
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_secrets"] = module
    spec.loader.exec_module(module)
    return module


def library_files() -> list[tuple[Path, str]]:
    """Every .py file of the libraries, with its text."""
    files: list[tuple[Path, str]] = []
    for name in LIBRARIES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed")
        for path in sorted(Path(spec.origin).parent.rglob("*.py")):
            files.append((path, path.read_text(encoding="utf-8", errors="replace")))
    return files


def recall(find: Finder, redact: Callable[[str, Sequence[Any]], str]) -> tuple[int, int, list[str]]:
    """(missed, total, the families missed) over the corpus."""
    sys.path.insert(0, str(ROOT))
    from tests.secret_corpus import samples

    missed = [s.kind for s in samples() if s.secret in redact(s.text, find(s.text))]
    return len(missed), len(samples()), sorted(set(missed))


def decoys_flagged(find: Finder) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.secret_corpus import decoys

    return sum(1 for d in decoys() if find(d))


def library_pass(find: Finder, texts: Sequence[str]) -> tuple[int, float]:
    """(findings, seconds) for one pass over the texts."""
    started = time.perf_counter()
    count = sum(len(find(text)) for text in texts)
    return count, time.perf_counter() - started


def detect_secrets_comparison(files: Sequence[tuple[Path, str]]) -> dict[str, object]:
    """detect-secrets' recall on the corpus and its findings and speed on a library slice, if installed."""
    if importlib.util.find_spec("detect_secrets") is None:
        return {"installed": False}
    from detect_secrets.core.secrets_collection import SecretsCollection
    from detect_secrets.settings import default_settings

    sys.path.insert(0, str(ROOT))
    from tests.secret_corpus import decoys, samples

    def scan_paths(paths: list[str]) -> dict[str, int]:
        collection = SecretsCollection()
        with default_settings():
            for path in paths:
                collection.scan_file(path)
        return {name: len(found) for name, found in collection.data.items()}

    with tempfile.TemporaryDirectory(prefix="bench-detect-secrets-") as tmp:
        corpus = samples()
        paths = []
        suffix = {"env": ".env", "yaml": ".yaml", "json": ".json", "docker": ".json", "code": ".py"}
        for n, sample in enumerate(corpus):
            path = Path(tmp) / f"sample{n}{suffix.get(sample.context, '.txt')}"
            path.write_text(sample.text)
            paths.append(str(path))
        found = scan_paths(paths)
        caught = sum(1 for p in paths if found.get(p, 0) > 0)
        decoy_paths = []
        for n, text in enumerate(decoys()):
            path = Path(tmp) / f"decoy{n}.py"
            path.write_text(text)
            decoy_paths.append(str(path))
        decoy_found = scan_paths(decoy_paths)
    chosen, size = [], 0
    for path, text in files:
        if size >= DETECT_SECRETS_BYTES:
            break
        chosen.append(str(path))
        size += len(text)
    started = time.perf_counter()
    library = scan_paths(chosen)
    seconds = time.perf_counter() - started
    return {"installed": True, "corpus_caught": caught, "corpus_total": len(corpus),
            "decoys_flagged": sum(1 for v in decoy_found.values() if v),
            "library_chars": size, "library_findings": sum(library.values()), "library_seconds": round(seconds, 2),
            "mb_per_s": round(size / 1e6 / seconds, 2)}


def measure(runs: int = 3) -> list[Figure]:
    """Recall, decoys, library findings and speed, new scanner against the baseline."""
    from buddy_tui.context import secrets as new

    old = baseline_module()

    def old_find(text: str) -> Sequence[Any]:
        return old.find_secrets(text, limit=10**9)  # type: ignore[no-any-return]

    files = library_files()
    texts = [text for _, text in files]
    megabytes = sum(len(t) for t in texts) / 1e6
    new_missed, total, new_families = recall(new.find_secrets, new.redact)
    old_missed, _, old_families = recall(old_find, old.redact)
    times: dict[str, list[float]] = {"new": [], "old": []}
    counts: dict[str, int] = {}
    for _ in range(runs):
        for name, find in (("new", new.find_secrets), ("old", old_find)):
            count, seconds = library_pass(find, texts)
            counts[name] = count
            times[name].append(seconds / megabytes)
    new_speed, old_speed = median(times["new"], "new scan"), median(times["old"], "old scan")
    figures = [
        Figure("secret corpus: credentials missed", new_missed, "", "value<=", 0, old_missed,
               f"of {total} samples; {len(old_families)} families missed before"),
        Figure("secret corpus: decoys flagged", decoys_flagged(new.find_secrets), "", "value<=", 0,
               note=f"baseline flagged {decoys_flagged(old_find)}"),
        Figure("secret findings on library sources", counts["new"], "", "ratio<=" if counts["old"] else "value<=",
               1.0 if counts["old"] else 0, counts["old"] or None, f"{megabytes:.1f} MB of {', '.join(LIBRARIES)}"),
        Figure("secret scan time per MB of library source", new_speed, "s", "value<=", 0.1, old_speed,
               f"{1 / new_speed:.1f} MB/s, baseline {1 / old_speed:.1f} MB/s"),
    ]
    comparison = detect_secrets_comparison(files)
    write_results("secrets", figures, {"missed_families": new_families, "baseline_missed_families": old_families,
                                       "detect_secrets": comparison})
    return figures


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure(runs=int(sys.argv[1]) if len(sys.argv) > 1 else 3)))
    print((ROOT / "benchmarks" / "results" / "secrets.json").read_text())
