"""How fast the project index is at 100,000 files. Run by hand: ``python benchmarks/bench_finder.py``.

Measures walk_project on a 10-file and a 100,000-file tree (plus an ignored node_modules/ of
20,000 files it must prune), and FileFinder.search per keystroke while ~30 queries are typed one
character at a time. Prints a table and writes benchmarks/results/finder.json.
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from buddy_tui.core.files import IgnoreRules
from buddy_tui.core.index import FileFinder, walk_project

RESULTS = Path(__file__).resolve().parent / "results" / "finder.json"
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
    while len(folders) < count // 10:
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


def make_tree(root: Path, paths: list[str]) -> None:
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
    return statistics.median(runs)


def bench_walk() -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="bench-finder-") as temporary:
        small, large = Path(temporary) / "small", Path(temporary) / "large"
        started = time.perf_counter()
        make_tree(small, [f"src/module_{i}.py" for i in range(9)] + [".gitignore"])
        (large / "node_modules").mkdir(parents=True)
        (large / ".gitignore").write_text("node_modules/\n*.log\n__pycache__/\n/dist\n.env\n", encoding="utf-8")
        make_tree(large, realistic_paths(FILES - 1, seed=11))
        make_tree(large, [f"node_modules/pkg{i % 400}/lib/file{i}.js" for i in range(NODE_MODULES)])
        generated = time.perf_counter() - started

        small_files, _ = walk_project(small, IgnoreRules(small))
        large_files, large_stats = walk_project(large, IgnoreRules(large))
        assert len(small_files) == 10, len(small_files)
        assert len(large_files) == FILES and not large_stats.truncated, large_stats
        assert not any(path.startswith("node_modules/") for path in large_files)
        return {
            "tree_generation_s": generated,
            "walk_10_files_ms": 1000 * timed(lambda: walk_project(small, IgnoreRules(small)), repeat=20),
            "walk_100k_files_ms": 1000 * timed(lambda: walk_project(large, IgnoreRules(large)), repeat=3),
            "walk_100k_files_include_ignored_ms": 1000 * timed(
                lambda: walk_project(large, IgnoreRules(large), include_ignored=True), repeat=3),
            "walk_100k_files": len(large_files),
        }


def bench_search() -> dict[str, float | int]:
    paths = realistic_paths(FILES)
    started = time.perf_counter()
    finder = FileFinder(paths)
    built = time.perf_counter() - started
    keystrokes: list[float] = []
    first_keys: list[float] = []
    misses = 0
    for query in QUERIES:  # one finder, as in the app: each query typed a character at a time
        for end in range(1, len(query) + 1):
            started = time.perf_counter()
            results = finder.search(query[:end])
            elapsed = time.perf_counter() - started
            keystrokes.append(elapsed)
            if end == 1:
                first_keys.append(elapsed)
        misses += not results
    keystrokes.sort()
    return {
        "finder_build_ms": 1000 * built,
        "queries": len(QUERIES),
        "keystrokes": len(keystrokes),
        "queries_without_results": misses,
        "search_median_ms": 1000 * statistics.median(keystrokes),
        "search_p95_ms": 1000 * keystrokes[min(len(keystrokes) - 1, round(0.95 * len(keystrokes)))],
        "search_max_ms": 1000 * keystrokes[-1],
        "first_keystroke_median_ms": 1000 * statistics.median(first_keys),
    }


def main() -> None:
    figures: dict[str, float | int] = {**bench_walk(), **bench_search()}
    for name, value in figures.items():
        assert value > 0 or name == "queries_without_results", f"{name} was not measured: {value!r}"
    width = max(map(len, figures))
    print(f"{'figure':<{width}}  value")
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:.2f}" if isinstance(value, float) else f"{name:<{width}}  {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "figures": figures,
    }, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
