"""buddy-tui's own settings and files: the config file, remembered UI state, paths, crash reports."""
