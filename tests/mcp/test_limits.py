"""Per-identity limits: the token bucket (against a hand-driven clock), refusals over MCP
audited 429, and the result bound (its JSON never above the limit, lists cut, counts kept)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp import Client
from nettwin.api import Role, Settings
from nettwin.api.auth import Principal
from nettwin.api.service import Twin
from nettwin.mcp import build_server
from nettwin.mcp.guard import RateLimiter, bound_result
from tests.mcp.conftest import answer, error_text, run


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)  # one call a second: wait 1 s
    assert limiter.take("b") == 0.0  # per identity
    now[0] += 1.0
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    now[0] += 100.0  # refills to the burst, no further
    assert [limiter.take("a") for _ in range(4)][-1] > 0


def test_calls_beyond_the_rate_are_refused_and_audited(tmp_path: Path) -> None:
    twin = Twin(Settings(data_dir=tmp_path, mcp_burst=2, mcp_calls_per_minute=1))
    twin.load_examples()
    server = build_server(twin, Principal("hasty", Role.PLANNER))

    async def go() -> list[str]:
        async with Client(server) as c:
            answer(await c.call_tool("list_networks", {}))
            answer(await c.call_tool("list_networks", {}))
            return [error_text(await c.call_tool("list_networks", {}))]
    (refused,) = run(go)
    assert "rate limit" in refused and "hasty" in refused
    audit = [json.loads(x) for x in twin.settings.audit_file.read_text().splitlines()]
    assert [a["status"] for a in audit] == [200, 200, 429]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=40) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=6),
    max_leaves=200)


@settings(max_examples=60)
@given(doc=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
       limit=st.integers(1024, 8192))
def test_bounded_results_fit_or_say_why(doc: dict[str, object], limit: int) -> None:
    out = bound_result(json.loads(json.dumps(doc)), limit)
    assert len(json.dumps(out, separators=(",", ":"))) <= limit or set(out) == {
        "error", "truncated", "resource"}
    if len(json.dumps(doc, separators=(",", ":"))) <= limit:
        assert out == doc  # nothing cut when it fits


def test_bound_holds_at_every_limit_and_keeps_the_head_of_each_list() -> None:
    doc = {"job": {"id": "x" * 150}, "note": "n" * 40,
           "worst": [{"rank": i, "arc": f"l{i} (a->b)", "u": i / 7} for i in range(100)],
           "arcs": [{"arc": f"l{i}", "worst_utilisation": 1 / (i + 1)} for i in range(100)]}
    whole = json.loads(json.dumps(doc))
    for limit in range(1024, 9000, 13):
        out = bound_result(json.loads(json.dumps(doc)), limit)
        assert len(json.dumps(out, separators=(",", ":"))) <= limit, limit
        for key in ("worst", "arcs"):
            assert out[key] == whole[key][:len(out[key])]  # ranked lists lose their tails
        assert set(out["truncated"]) <= {"worst", "arcs"}
