"""``python -m benchmarks``: measure every figure, print the table, save benchmarks/results/all.json.

    python -m benchmarks                      # everything (several minutes)
    python -m benchmarks --quick              # fewer runs of each
    python -m benchmarks --only tree,finder   # just these

Progress goes to standard error, the table to standard output. A module that raises is reported
as a failed row and the others still run. The exit status is 1 if any figure misses its budget or
any module failed, else 0.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import sys
import time
from collections.abc import Sequence
from types import ModuleType

from benchmarks import common
from benchmarks.common import Figure

#: Every figure module, in the order they run.
MODULES: dict[str, str] = {
    "startup": "benchmarks.bench_startup",
    "stream": "benchmarks.bench_stream",
    "tree": "benchmarks.bench_tree",
    "finder": "benchmarks.bench_finder",
    "preview": "benchmarks.bench_files",
    "ask": "benchmarks.bench_ask",
    "secrets": "benchmarks.bench_secrets",
    "bigreply": "benchmarks.bench_bigreply",
    "history": "benchmarks.bench_history",
    "agents": "benchmarks.bench_agents",
}
#: Modules that may not exist yet: skipped with a note rather than failed.
OPTIONAL = frozenset({"history"})
QUICK_RUNS = 2


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def load(name: str) -> ModuleType | None:
    """The figure module called ``name``; None if it is optional and does not exist."""
    module = MODULES[name]
    if name in OPTIONAL and importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module)


def run_module(name: str, module: ModuleType, quick: bool) -> list[Figure]:
    """Call the module's ``measure`` (with fewer runs when quick) and check what it returned."""
    measure = module.measure
    quick_args = {"runs": QUICK_RUNS} if quick and "runs" in inspect.signature(measure).parameters else {}
    figures = list(measure(**quick_args))
    if not figures:
        raise common.Zero(f"{name}: measured no figures")
    for figure in figures:
        if not isinstance(figure, Figure):
            raise TypeError(f"{name}: measure() returned {figure!r}, not a Figure")
        _ = figure.ok  # a figure that cannot be judged (a ratio without a baseline) raises here
    return figures


def collect(names: Sequence[str], quick: bool = False) -> tuple[list[Figure], dict[str, str], list[str]]:
    """Run the named modules in order: their figures, the modules that failed (name: error), and
    the optional modules that were skipped."""
    figures: list[Figure] = []
    failed: dict[str, str] = {}
    skipped: list[str] = []
    for name in names:
        progress(f"{name}: measuring...")
        started = time.monotonic()
        try:
            module = load(name)
            if module is None:
                skipped.append(name)
                progress(f"{name}: skipped ({MODULES[name].replace('.', '/')}.py does not exist)")
                continue
            found = run_module(name, module, quick)
        except Exception as exc:  # one broken module must not stop the others
            failed[name] = f"{type(exc).__name__}: {exc}"
            progress(f"{name}: FAILED after {time.monotonic() - started:.0f} s: {failed[name]}")
            continue
        figures += found
        progress(f"{name}: done in {time.monotonic() - started:.0f} s")
    return figures, failed, skipped


def report(figures: Sequence[Figure], failed: dict[str, str]) -> str:
    """The table of figures, with a failed row for each module that raised."""
    rows = [common.table(figures)]
    for name, error in failed.items():
        reason = " ".join(error.split()).replace("|", "\\|")
        reason = reason if len(reason) <= 200 else reason[:199] + "…"
        rows.append(f"| {name}: FAILED ({reason}) | — | — | — | — | **NO** |")
    return "\n".join(rows)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="Measure every figure, print the table, "
                                     "save benchmarks/results/all.json.")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs where a module takes a run count")
    parser.add_argument("--only", metavar="NAME[,NAME]",
                        help=f"run only these, of: {', '.join(MODULES)}")
    args = parser.parse_args(argv)
    if args.only is None:
        args.names = list(MODULES)
    else:
        wanted = {part.strip() for part in args.only.split(",") if part.strip()}
        unknown = wanted - set(MODULES)
        if unknown or not wanted:
            parser.error(f"unknown figure module(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                         f"choose from {', '.join(MODULES)}")
        args.names = [name for name in MODULES if name in wanted]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    figures, failed, skipped = collect(args.names, args.quick)
    print(report(figures, failed), flush=True)
    path = common.write_results("all", figures, {"failed": failed, "skipped": skipped, "quick": args.quick,
                                                 "modules": args.names})
    progress(f"written to {path}")
    missed = [f.name for f in figures if not f.ok]
    if missed or failed:
        progress(f"{len(missed)} figure(s) missed the budget, {len(failed)} module(s) failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
