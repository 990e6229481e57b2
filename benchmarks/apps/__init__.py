"""Baseline programs the benchmarks compare buddy-tui with."""
