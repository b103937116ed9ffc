"""The twin as a tool for AI agents: a Model Context Protocol server (the official MCP
Python SDK) over the service's state, with the REST API's roles, audit and limits.

``build_server(twin)`` makes the server; ``nettwin mcp`` runs it over stdio for a local
agent, and ``mount_mcp(app)`` serves it over streamable HTTP at ``/mcp`` of ``nettwin
serve``'s app, behind the same bearer tokens (local or OIDC) as the API.

This package is ``nettwin.mcp``; the SDK is the top-level ``mcp`` (absolute imports keep
them apart).
"""

from nettwin.mcp.http import mount_mcp
from nettwin.mcp.server import TOOLSETS, build_server

__all__ = ["TOOLSETS", "build_server", "mount_mcp"]
