"""`tao-skill dataset synth|check NETWORK ARGS...`: the skill's dataset tools (skill_info.yaml `tools`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from tao_skill.errors import ErrorItem, RunnerError


def _tool(network: str, name: str, args: tuple[str, ...], skill_dir: Path | None) -> int:
    from tao_skill.skills import get_skill  # noqa: PLC0415

    skill = get_skill(network, skill_dir)
    argv = skill.info.get("tools", {}).get(name)
    if not argv:
        raise RunnerError(ErrorItem("tools", f"`{network}` declares no `{name}` tool in skill_info.yaml"))
    argv = [sys.executable if a == "python" else a for a in argv]
    return subprocess.call([*argv, *args])


def register(cli: click.Group) -> None:
    @cli.group("dataset")
    def dataset() -> None:
        """Dataset tools of a skill (synthetic data, layout checks)."""

    for name, doc in (("synth", "Generate a synthetic dataset in the network's real on-disk layout."),
                      ("check", "Check a dataset's layout and files; report problems in plain words.")):
        def make(tool: str):
            @dataset.command(tool, help=doc, context_settings={"ignore_unknown_options": True,
                                                               "allow_extra_args": True})
            @click.argument("network")
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            @click.option("--skill-dir", type=click.Path(path_type=Path), default=None)
            def cmd(network: str, args: tuple[str, ...], skill_dir: Path | None) -> int:
                return _tool(network, tool, args, skill_dir)

        make(name)
