"""The core of buddy-tui: personas, commands, context, the chat client. It never imports Textual."""
