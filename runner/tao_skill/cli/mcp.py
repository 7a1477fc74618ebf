"""`tao-skill mcp`: serve the CLI's operations as MCP tools (stdio by default, streamable HTTP as an option)."""

from __future__ import annotations

from pathlib import Path

import click


def register(cli: click.Group) -> None:
    @cli.command("mcp")
    @click.option("--transport", type=click.Choice(["stdio", "streamable-http"]), default="stdio", show_default=True,
                  help="stdio for a client that starts the server; streamable-http to serve on HOST:PORT/mcp.")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Address for streamable-http.")
    @click.option("--port", type=int, default=8765, show_default=True, help="Port for streamable-http.")
    @click.option("--workspace", type=click.Path(path_type=Path), default=None,
                  help="Default workspace of every tool (default $TAO_SKILL_WORKSPACE or ./tao-workspace).")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory outside the bank.")
    @click.option("--json", "json_mode", is_flag=True, help="Accepted like everywhere; every tool result is JSON.")
    def mcp_cmd(transport: str, host: str, port: int, workspace: Path | None, skill_dir: Path | None,
                json_mode: bool) -> int:
        """Run an MCP server whose tools are list_skills, describe, validate, plan, run (detached), job_status,
        job_logs, job_wait, job_cancel, jobs_list and automl_status. Each returns the JSON document of the
        matching `tao-skill ... --json` command; a failing command returns its error document (isError).

        Claude Code: `claude mcp add tao-skill -- tao-skill mcp --workspace /path/to/ws`.
        """
        from tao_skill.errors import RunnerError  # noqa: PLC0415

        try:
            from tao_skill.mcp import build_server  # noqa: PLC0415
        except ImportError as exc:
            raise RunnerError(f"the MCP server needs the `mcp` package: pip install 'tao-skill-bank[mcp]' ({exc})",
                              ) from None
        build_server(workspace, skill_dir, host=host, port=port).run(transport=transport)
        return 0
