"""The conversation: the engine that owns a turn, the session, the chat client, retries and errors."""
