"""A finished ``/buddy:review`` in which the backend persona handed the validation to two experts
(security and performance) through the Task tool: the stored turn the snapshot test and the
README's screenshot show."""

from __future__ import annotations

from buddy_tui.store.records import AgentRecord, ToolNote, TurnRecord, Usage

SECURITY_TASK = {"description": "injection and secrets in app/", "prompt": "Review app/ for security.",
                 "subagent_type": "security"}
PERFORMANCE_TASK = {"description": "query cost of load_orders", "prompt": "Review app/ for performance.",
                    "subagent_type": "performance"}

LEAD_BEFORE = "I'll give the validation to the security and performance experts in parallel.\n\n"
LEAD_AFTER = """## Review of app/ (ranked by severity)

1. **Critical · SQL injection** (app/models.py:13): the user id is formatted into the query. Pass it
   as a parameter.
2. **High · N+1 queries** (app/models.py:15): one query per order; join the lines in one query.
3. **Medium · No pagination** (app/models.py:12): every order in one response; add `limit`/`after`.
"""

SECURITY_BEFORE = "Reading the data access code first.\n\n"
SECURITY_AFTER = """**Critical**: `load_orders` builds SQL with `%` (app/models.py:13), so a crafted `user_id`
runs any statement. The `order.id` f-string (app/models.py:15) is safe only while ids stay integers.

```python
db.query("SELECT * FROM orders WHERE user_id = %s", (user_id,))
```
"""

PERFORMANCE_REPLY = """**High**: one query per order (app/models.py:15): 201 round trips for 200 orders.
Join `lines` once and add an index on `lines(order_id)`.
"""


def review_turn() -> TurnRecord:
    """The stored review: the lead's text, its two Task calls, each agent's run, the merged answer."""
    at = len(LEAD_BEFORE)
    security = AgentRecord(
        "toolu_security", "security", "Security", "red", SECURITY_TASK["description"], SECURITY_TASK["prompt"],
        "claude-sonnet-5-5", reply=SECURITY_BEFORE + SECURITY_AFTER,
        tools=[ToolNote("toolu_s1", "Read", {"path": "app/models.py"}, "Read app/models.py · 16 lines",
                        offset=len(SECURITY_BEFORE)),
               ToolNote("toolu_s2", "Grep", {"pattern": "db.query"}, 'Grep "db.query" in app · 2 matches',
                        offset=len(SECURITY_BEFORE))],
        state="done", usage=Usage(3_120, 642), seconds=12.4)
    performance = AgentRecord(
        "toolu_performance", "performance", "Performance", "green", PERFORMANCE_TASK["description"],
        PERFORMANCE_TASK["prompt"], "claude-sonnet-5-5", reply=PERFORMANCE_REPLY,
        tools=[ToolNote("toolu_p1", "Read", {"path": "app/models.py"}, "Read app/models.py · 16 lines")],
        state="done", usage=Usage(2_870, 518), seconds=9.1)
    lead_usage = Usage(4_210, 388)
    return TurnRecord(
        "/buddy:review app", "backend", "Backend", "claude-sonnet-5-5", reply=LEAD_BEFORE + LEAD_AFTER,
        tools=[ToolNote("toolu_security", "Task", SECURITY_TASK, "Task security · injection and secrets in app/",
                        offset=at),
               ToolNote("toolu_performance", "Task", PERFORMANCE_TASK,
                        "Task performance · query cost of load_orders", offset=at)],
        state="complete", usage=lead_usage + security.usage + performance.usage, agents=[security, performance])
