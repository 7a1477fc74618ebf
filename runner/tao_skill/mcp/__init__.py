"""`tao-skill mcp`: the CLI's operations as MCP tools (official `mcp` SDK), for agents that speak MCP.

Each tool runs the matching `tao-skill ... --json` command and returns its JSON document unchanged
(``structuredContent`` and the same text); a command that exits non-zero returns its error document
with ``isError`` set. See :mod:`tao_skill.mcp.server`.
"""

from tao_skill.mcp.server import TOOLS, build_server

__all__ = ["TOOLS", "build_server"]
