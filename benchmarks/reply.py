"""A long Markdown answer of the kind a backend persona writes: headings, paragraphs, lists,
tables and code, about four characters a token, ending with a marker line the benchmarks wait
for on screen."""

from __future__ import annotations

MARKER = "ZQXJ-END-OF-REPLY"
CHARS_PER_TOKEN = 4

_SECTION = """## {n}. {topic}

The {topic} path handles about {rps} requests a second at peak. Keep it boring: validate input at
the edge, make every write idempotent, and put a deadline on each call it makes downstream.

- **Budget**: p95 under {p95} ms, measured at the load balancer, not in the service.
- **Retries**: at most {retries}, with jittered backoff, and only for idempotent calls.
- **Failure mode**: when the `{dep}` dependency is slow, shed load early with a 503 and `Retry-After`.

| check | current | target |
|---|---|---|
| p95 latency | {cur} ms | {p95} ms |
| error rate | 0.{err}% | 0.1% |
| connections | {conn} | {pool} |

```python
async def {fn}(request: Request, db: Database) -> Response:
    key = request.headers.get("Idempotency-Key")
    if key and (cached := await db.fetch_result(key)):
        return cached
    async with asyncio.timeout({timeout}):
        result = await db.execute(QUERY_{n}, request.params)
    await db.store_result(key, result)
    return Response(result, status=201)
```

Measure before and after the change with the same load profile; a fix that moves p50 but not p99 has
moved the wrong thing.

"""

_TOPICS = ["order intake", "payment capture", "inventory reservation", "refund issue", "invoice render",
           "webhook delivery", "session refresh", "search indexing", "report export", "email dispatch"]
_DEPS = ["postgres", "redis", "payments-api", "s3", "kafka"]


def long_reply(tokens: int = 20_000) -> str:
    """About ``tokens`` tokens of Markdown, ending with :data:`MARKER` on its own line."""
    parts: list[str] = [f"# Reliability review\n\nA section per hot path, {tokens:,} tokens in all.\n\n"]
    n = 0
    while sum(map(len, parts)) < tokens * CHARS_PER_TOKEN:
        n += 1
        parts.append(_SECTION.format(
            n=n, topic=_TOPICS[n % len(_TOPICS)], rps=200 + 37 * n, p95=120 + n % 7 * 10, retries=2 + n % 2,
            dep=_DEPS[n % len(_DEPS)], cur=180 + 13 * n % 90, err=n % 9 + 1, conn=20 + n % 30, pool=50,
            fn=f"handle_{_TOPICS[n % len(_TOPICS)].replace(' ', '_')}_{n}", timeout=2 + n % 3))
    parts.append(f"That is every path.\n\n{MARKER}\n")
    return "".join(parts)


def chunks(text: str, size: int = 16) -> list[str]:
    """The text as stream deltas of ``size`` characters (about four tokens each)."""
    return [text[i: i + size] for i in range(0, len(text), size)]
