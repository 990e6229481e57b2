"""How an agent run's end and a duration are said in words, the same in the Markdown export and
on ``buddy-tui ask``'s standard error: ``done in 12 s``, ``failed after 3.0 s: overloaded``."""

from __future__ import annotations


def duration_text(seconds: float) -> str:
    """``3.4 s``, ``12 s``, ``2 min 5 s``: how long something took, as a person says it."""
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60} s"


def agent_outcome(state: str, seconds: float, why: str = "") -> str:
    """An agent's state in words: ``done in 12 s``, ``failed after 3.0 s: why``, ``stopped at its
    tool-round limit``, ``stopped by the user``, ``interrupted``; ``still running`` (or queued) for
    one not over yet. ``seconds`` 0 means unknown and is left out."""
    took = f" after {duration_text(seconds)}" if seconds > 0 else ""
    why = " ".join(why.split())
    because = f": {why}" if why else ""
    if state == "done":
        return f"done in {duration_text(seconds)}" if seconds > 0 else "done"
    if state == "failed":
        return f"failed{took}{because}"
    if state == "capped":
        return f"stopped at its tool-round limit{took}{because}"
    if state == "stopped":
        return f"stopped by the user{took}"
    if state == "interrupted":
        return f"interrupted{took}"
    return f"still {state}"
