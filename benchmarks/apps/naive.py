"""The naive way to stream a reply, for comparison: on every delta, render the whole Markdown
again. Asks the API named by ANTHROPIC_BASE_URL one question as soon as it starts, through the
official SDK, exactly as buddy-tui does. ``python benchmarks/apps/naive.py``."""

from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown


class Naive(App[None]):
    """One Markdown widget that is re-rendered in full on every delta."""

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown("")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).anchor()
        self.ask()

    @work(exclusive=True)
    async def ask(self) -> None:
        from anthropic import AsyncAnthropic

        markdown = self.query_one(Markdown)
        text = ""
        async with AsyncAnthropic().messages.stream(
                model="claude-test", max_tokens=64_000,
                messages=[{"role": "user", "content": "Review every hot path."}]) as stream:
            async for delta in stream.text_stream:
                text += delta
                await markdown.update(text)


if __name__ == "__main__":
    Naive().run()
