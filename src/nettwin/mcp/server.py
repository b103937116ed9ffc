"""``build_server(twin)``: the MCP server over one service instance's state.

Tool sets are registered from ``TOOLSETS``: a new capability (validate a change, optimise,
diagnose) adds a module with ``register(server, gate, results)`` and one line here, and its
tools get the same identity, roles, rate limit, audit and result bounds as the core ones.
"""

from __future__ import annotations

from collections.abc import Callable

from mcp.server.mcpserver import MCPServer

from nettwin import __version__
from nettwin.api.auth import Principal
from nettwin.api.service import Twin
from nettwin.mcp import agency, optimisation, resources, tools, validation
from nettwin.mcp.guard import Gate
from nettwin.mcp.results import ResultStore

Register = Callable[[MCPServer, Gate, ResultStore], None]

TOOLSETS: tuple[Register, ...] = (tools.register, resources.register, validation.register,
                                  optimisation.register, agency.register)

INSTRUCTIONS = """\
nettwin is a network digital twin. Before acting on a network, ask it: list_networks, \
describe_network, simulate (KPIs), whatif (a change list: fail_link, fail_node, set_metric, \
...), sweep_summary (every single failure, worst first), live_state (now, at an instant, or \
a diff), estimate_traffic_matrix, validate_change (a change list and/or FRR snippets: SAFE, \
RISKY or UNSAFE), optimize_weights / optimize_paths (traffic engineering; their 'whatif' goes \
straight to the whatif tool). Answers are compact; each names a resource with the full \
table. Errors name the element, the bad value and the fix."""


def build_server(twin: Twin, local: Principal | None = None) -> MCPServer:
    """An MCP server over ``twin``; ``local`` is the caller when no HTTP request carries
    one (stdio, in-process)."""
    server = MCPServer("nettwin", version=__version__, instructions=INSTRUCTIONS,
                       title="nettwin network digital twin", log_level="WARNING")
    gate = Gate(twin, local)
    results = ResultStore()
    for register in TOOLSETS:
        register(server, gate, results)
    return server
