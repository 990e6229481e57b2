"""buddy-tui's benchmark suite: ``python -m benchmarks`` runs every figure (see __main__.py)."""
