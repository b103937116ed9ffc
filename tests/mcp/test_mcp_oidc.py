"""MCP over HTTP with OIDC bearer tokens (Keycloak realm roles), as the REST API: the
role in the token decides, the audit names the user."""

from __future__ import annotations

import json
from pathlib import Path

from nettwin.api import Settings, create_app
from nettwin.mcp import mount_mcp
from tests.api.conftest import running_server
from tests.api.test_oidc import ISSUER, _token, issuer  # noqa: F401 - the issuer fixture
from tests.mcp.conftest import answer, error_text, mcp_session, run


def test_oidc_roles_decide_over_mcp(issuer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    keys, url = issuer
    key = keys.add("k1")
    settings = Settings(data_dir=tmp_path, oidc_issuer=ISSUER, oidc_jwks_url=url,
                        oidc_audience="nettwin")
    change = {"network_id": "example", "changes": [{"fail_node": "Houston"}]}
    with running_server(mount_mcp(create_app(settings))) as port:
        mcp_url = f"http://127.0.0.1:{port}/mcp"

        async def go() -> tuple[str, float]:
            async with mcp_session(mcp_url, _token(key, "k1", ["viewer"])) as c:
                answer(await c.call_tool("list_networks", {}))
                refused = error_text(await c.call_tool("whatif", change))
            async with mcp_session(mcp_url, _token(key, "k1", ["planner"])) as c:
                done = answer(await c.call_tool("whatif", change))
            return refused, done["max_utilisation_after"]

        refused, after = run(go)
    assert "needs role planner" in refused and after > 0
    audit = [json.loads(x) for x in settings.audit_file.read_text().splitlines()]
    tools = [(a["who"], a["status"]) for a in audit if a["what"].startswith("MCP /mcp/tools/wh")]
    assert tools == [("alice", 403), ("alice", 200)]
