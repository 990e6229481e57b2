"""The project as context: its folder and index, attached files, the context budget, secrets, highlighting."""
