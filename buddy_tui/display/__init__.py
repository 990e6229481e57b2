"""Textual-free help for showing replies: Markdown blocks, growing-reply pieces, the clipboard."""
