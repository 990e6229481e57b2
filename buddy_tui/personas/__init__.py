"""Personas and commands: front matter, the catalog of every place they live, triggers, and who answers."""
