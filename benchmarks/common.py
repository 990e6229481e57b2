"""What every benchmark shares: figures and their budgets, medians that refuse to be zero, the
table and the JSON, and how to start buddy-tui (or a baseline) in a pseudo-terminal."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
#: How a figure is judged: its ratio to the baseline at most ``limit``; its value at most
#: ``limit``; or the baseline at least ``limit`` times the value (a speed-up).
TIMES = "\u00d7"  # the multiplication sign of "1.3x"
Rule = Literal["ratio<=", "value<=", "speedup>="]


class Zero(AssertionError):
    """A measurement came back as zero or negative: the harness is broken, not the app fast."""


def median(values: Sequence[float], what: str) -> float:
    """The median of several runs; raises :class:`Zero` if any run measured nothing."""
    if not values:
        raise Zero(f"{what}: no runs")
    if any(v <= 0 for v in values):
        raise Zero(f"{what}: a run measured {min(values)}")
    return float(statistics.median(values))


@dataclass(frozen=True)
class Figure:
    """One row of the table: a measured value, the baseline measured in the same run (if any),
    and the budget it must meet."""

    name: str
    value: float
    unit: str
    rule: Rule
    limit: float
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """value / baseline (for a speed-up: baseline / value)."""
        if self.baseline is None:
            return None
        return self.baseline / self.value if self.rule == "speedup>=" else self.value / self.baseline

    @property
    def ok(self) -> bool:
        """Does the figure meet its budget?"""
        if self.rule == "value<=":
            return self.value <= self.limit
        if self.ratio is None:
            raise ValueError(f"{self.name}: a ratio rule needs a baseline")
        return self.ratio <= self.limit if self.rule == "ratio<=" else self.ratio >= self.limit

    def budget(self) -> str:
        """``≤ 1.3x``, ``≤ 250 ms``, ``≥ 5x`` (with a multiplication sign)."""
        if self.rule == "value<=":
            return f"≤ {_amount(self.limit, self.unit)}"
        return f"{'≤' if self.rule == 'ratio<=' else '≥'} {self.limit:g}{TIMES}"


def _amount(value: float, unit: str) -> str:
    if unit == "s" and value < 1:
        return f"{value * 1000:.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:.3g} {unit}".strip()


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table (also readable in a terminal)."""
    rows = ["| figure | value | baseline (same run) | ratio | budget | met |", "|---|---|---|---|---|---|"]
    for f in figures:
        baseline = _amount(f.baseline, f.unit) if f.baseline is not None else "—"
        ratio = f"{f.ratio:.2f}{TIMES}" if f.ratio is not None else "—"
        note = f" ({f.note})" if f.note else ""
        rows.append(f"| {f.name}{note} | {_amount(f.value, f.unit)} | {baseline} | {ratio} | {f.budget()} | "
                    f"{'yes' if f.ok else '**NO**'} |")
    return "\n".join(rows)


def write_results(name: str, figures: Sequence[Figure], extra: Mapping[str, object] | None = None) -> Path:
    """Save the figures as JSON in benchmarks/results/NAME.json (with the date and machine)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "figures": [{**asdict(f), "ratio": f.ratio, "ok": f.ok, "budget": f.budget()} for f in figures],
            **(extra or {})}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return path


def buddy_argv(*args: str) -> list[str]:
    """How to run buddy-tui from this checkout, with this interpreter."""
    return [sys.executable, "-m", "buddy_tui", *args]


def buddy_env(data: Path, base_url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment for a benchmarked buddy-tui: its own data folder, the fake API if given,
    and none of the developer's own credentials or personas."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ANTHROPIC_", "BUDDY_TUI_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({"BUDDY_TUI_DATA_DIR": str(data / "data"), "BUDDY_TUI_CONFIG_DIR": str(data / "config"),
                "PYTHONPATH": str(ROOT)})
    if base_url is not None:
        env.update({"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_API_KEY": "sk-ant-benchmark"})
    env.update(extra)
    return env


def compile_sources() -> None:
    """Byte-compile buddy-tui as ``pip install`` does for its users, so no run pays for compiling
    (some machines set PYTHONDONTWRITEBYTECODE, which would make every start compile from source)."""
    import compileall

    compileall.compile_dir(ROOT / "buddy_tui", quiet=1)
    compileall.compile_dir(ROOT / "benchmarks", quiet=1)


def make_project(root: Path) -> Path:
    """A small backend project to open (the same one the tests use)."""
    sys.path.insert(0, str(ROOT))
    from tests.helpers import make_project as sample

    return sample(root)
