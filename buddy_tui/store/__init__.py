"""The history: conversations in SQLite, prompt recall, and export to Markdown."""
