"""A real `nettwin serve`-style app (REST + MCP at /mcp) on a loopback port, with a token
per role, and MCP client sessions to it (the SDK's client over streamable HTTP)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from mcp import Client
from nettwin.api import Role, Settings, TokenStore, create_app
from nettwin.mcp import mount_mcp
from nettwin.model import Network
from tests.api.conftest import running_server

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    tokens: dict[Role, str]
    settings: Settings

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def audit(self) -> list[dict[str, Any]]:
        lines = self.settings.audit_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("served")
    settings = Settings(data_dir=data, job_workers=1, mcp_calls_per_minute=60_000,
                        mcp_burst=1000)  # the scripted agent is quick; limits: test_limits
    store = TokenStore(settings.tokens_file)
    tokens = {role: store.create(f"agent-{role.name.lower()}", role) for role in Role}
    app = mount_mcp(create_app(settings))
    with running_server(app) as port:
        yield Served(f"http://127.0.0.1:{port}", tokens, settings)


@asynccontextmanager
async def mcp_session(url: str, token: str | None) -> AsyncIterator[Client]:
    """An MCP client session over streamable HTTP with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=120) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def run(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(coro())


def call_tool(served: Served, role: Role, tool: str, args: dict[str, Any]) -> Any:
    """One tool call in a session of its own, as the token of ``role``."""
    async def go() -> Any:
        async with mcp_session(served.mcp_url, served.tokens[role]) as c:
            return await c.call_tool(tool, args)
    return run(go)


def answer(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's JSON (the text the agent reads)."""
    assert not result.is_error, result.content
    text = result.content[0].text  # type: ignore[union-attr]
    doc: dict[str, Any] = json.loads(text)
    assert doc == result.structured_content
    return doc


def error_text(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    return "".join(getattr(c, "text", "") for c in result.content)


def bench_network(n: int, m: int) -> Network:
    """The engine benchmark's generated backbone (benchmarks/bench_engine.py)."""
    spec = importlib.util.spec_from_file_location("bench_engine",
                                                  ROOT / "benchmarks" / "bench_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    network: Network = module.make_network(n, m)
    return network
