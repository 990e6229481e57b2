"""``buddy-tui ask``: a thin driver of the conversation engine, with its input gathering and output formats."""
