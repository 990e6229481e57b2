"""buddy-tui: a terminal assistant that puts a backend persona beside your project."""

__version__ = "0.1.0"
