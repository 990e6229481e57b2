"""The fuzzy "go to file" finder on 100,000 paths: how long one keystroke takes.

``measure()`` builds a FileFinder over 100,000 paths shaped like a big monorepo's and types ~30
realistic queries into it one character at a time (one finder, as in the app, so it can narrow
from the previous keystroke); the figure is the median keystroke, with the p95 in the note.
Pure computation, so it runs in this process.

``python -m benchmarks.bench_finder --walk`` also times walk_project (the index the finder is
built from) on a 10-file and a 100,000-file tree on disk, plus an ignored node_modules/ of
20,000 files it must prune.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Figure, Zero, median

FILES = 100_000
NODE_MODULES = 20_000

TOPS = ["src", "lib", "app", "tests", "docs", "services", "packages", "internal", "cmd", "scripts", "web", "api"]
FOLDERS = ["models", "views", "controllers", "utils", "handlers", "core", "auth", "billing", "orders", "users",
           "payments", "migrations", "schemas", "serializers", "routes", "middleware", "config", "db", "cache",
           "queue", "workers", "components", "hooks", "store", "services", "adapters", "domain", "infra", "http"]
STEMS = ["user", "order", "invoice", "payment", "session", "token", "account", "product", "cart", "item",
         "customer", "report", "event", "message", "notification", "profile", "settings", "search", "index",
         "client", "server", "router", "handler", "factory", "repository", "validator", "parser", "helpers"]
SUFFIXES = ["", "_service", "_controller", "_test", "_model", "_view", "_utils", "Manager", "Repository", "_schema",
            "_handler"]
EXTENSIONS = [".py", ".ts", ".tsx", ".js", ".go", ".md", ".json", ".yaml", ".sql", ".rs", ".css", ".html"]

# What people type into a "go to file" box: names, abbreviations, folder/name, camelCase initials.
QUERIES = ["user_service", "ordctl", "paymentsrepo", "src/models/user", "invoice_test", "apiauth", "usrmgr",
           "settings.yaml", "token", "customerRepository", "notification_handler", "cart_view.tsx", "migrations",
           "billing/invoice", "prodsch", "session_model.py", "eventhandler", "web/components", "routes/order",
           "helpers.go", "reportsvc", "msgval", "index.ts", "searchctl", "accountManager", "client_test.rs",
           "validatorutils", "parser", "factory.js", "profileview"]


def realistic_paths(count: int, seed: int = 7) -> list[str]:
    """Paths shaped like a big monorepo's: about ten files per folder, one to five folders deep."""
    rng = random.Random(seed)
    folders: set[str] = set()
    while len(folders) < max(1, count // 10):
        depth = rng.choice([1, 2, 2, 3, 3, 3, 4, 5])
        folders.add("/".join([rng.choice(TOPS)] + [rng.choice(FOLDERS) + (str(rng.randrange(30)) if rng.random() < 0.3
                                                                          else "") for _ in range(depth - 1)]))
    pool = sorted(folders)
    found: set[str] = set()
    while len(found) < count:
        name = (rng.choice(STEMS) + rng.choice(SUFFIXES) + (str(rng.randrange(500)) if rng.random() < 0.5 else "")
                + rng.choice(EXTENSIONS))
        found.add(f"{rng.choice(pool)}/{name}")
    return sorted(found)


def keystrokes(paths: list[str], queries: list[str] = QUERIES) -> list[float]:
    """Seconds each keystroke's search took while ``queries`` were typed a character at a time into
    one finder. Raises :class:`Zero` if a whole query found nothing (a finder that answers nothing
    would look fast)."""
    from buddy_tui.context.index import FileFinder

    finder = FileFinder(paths)
    timings: list[float] = []
    for query in queries:
        results: list[str] = []
        for end in range(1, len(query) + 1):
            started = time.perf_counter()
            results = finder.search(query[:end])
            timings.append(time.perf_counter() - started)
        if not results:
            raise Zero(f"the finder found nothing for {query!r} among {len(paths):,} paths")
    return timings


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)))]


def measure(count: int = FILES) -> list[Figure]:
    """The finder figure: the median keystroke over ``count`` paths (p95 in the note)."""
    timings = keystrokes(realistic_paths(count))
    return [Figure(f"fuzzy finder, one keystroke on {count:,} paths", median(timings, "keystroke"), "s", "value<=",
                   0.05, note=f"p95 {p95(timings) * 1000:.1f} ms over {len(timings)} keys")]


# ---------------------------------------------------------------------- walking the tree (by hand)
def make_tree(root: Path, paths: list[str]) -> None:
    """Empty files at ``paths`` under ``root``."""
    made: set[str] = set()
    for relative in paths:
        folder = relative.rpartition("/")[0]
        if folder and folder not in made:
            os.makedirs(root / folder, exist_ok=True)
            made.add(folder)
        os.close(os.open(root / relative, os.O_CREAT | os.O_WRONLY, 0o644))


def timed(function: Callable[[], object], repeat: int) -> float:
    """The median of ``repeat`` runs, in seconds."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return median(runs, getattr(function, "__name__", "run"))


def bench_walk() -> dict[str, float]:
    """walk_project on 10 and 100,000 files (plus 20,000 ignored), in milliseconds."""
    from buddy_tui.context.folder import IgnoreRules
    from buddy_tui.context.index import walk_project

    with tempfile.TemporaryDirectory(prefix="bench-finder-") as temporary:
        small, large = Path(temporary) / "small", Path(temporary) / "large"
        make_tree(small, [f"src/module_{i}.py" for i in range(9)] + [".gitignore"])
        (large / "node_modules").mkdir(parents=True)
        (large / ".gitignore").write_text("node_modules/\n*.log\n__pycache__/\n/dist\n.env\n", encoding="utf-8")
        make_tree(large, realistic_paths(FILES - 1, seed=11))
        make_tree(large, [f"node_modules/pkg{i % 400}/lib/file{i}.js" for i in range(NODE_MODULES)])
        small_files, _ = walk_project(small, IgnoreRules(small))
        large_files, large_stats = walk_project(large, IgnoreRules(large))
        assert len(small_files) == 10, len(small_files)
        assert len(large_files) == FILES and not large_stats.truncated, large_stats
        assert not any(path.startswith("node_modules/") for path in large_files)
        return {
            "walk_10_files_ms": 1000 * timed(lambda: walk_project(small, IgnoreRules(small)), repeat=20),
            "walk_100k_files_ms": 1000 * timed(lambda: walk_project(large, IgnoreRules(large)), repeat=3),
            "walk_100k_files_include_ignored_ms": 1000 * timed(
                lambda: walk_project(large, IgnoreRules(large), include_ignored=True), repeat=3),
        }


if __name__ == "__main__":
    from benchmarks.common import table

    print(table(measure()))
    if "--walk" in sys.argv[1:]:
        for name, value in bench_walk().items():
            print(f"{name}: {value:.2f}")
