"""`tao-skill dataset synth|check NETWORK ARGS...`: the skill's dataset tools (skill_info.yaml `tools`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from tao_skill.errors import EXIT_INTERRUPTED, ErrorItem, RunnerError


def tool_argv(skill, name: str, args: tuple[str, ...] | list[str]) -> list[str]:
    """The argv of a skill's dataset tool with the user's arguments appended ("python" = this interpreter)."""
    argv = skill.info.get("tools", {}).get(name)
    if not argv:
        raise RunnerError(ErrorItem("tools", f"`{skill.network}` declares no `{name}` tool in skill_info.yaml",
                                    expected=f"tools.{name}: [argv...]"))
    argv = [sys.executable if a == "python" else a.replace("{skill_dir}", str(skill.root)) for a in argv]
    return [*argv, *args]


def _tool(network: str, name: str, args: tuple[str, ...], skill_dir: Path | None) -> int:
    from tao_skill.skills import get_skill  # noqa: PLC0415

    argv = tool_argv(get_skill(network, skill_dir), name, args)
    try:
        return subprocess.call(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        raise RunnerError(f"cannot start the `{name}` tool {argv[0]}: {exc.strerror}") from None


def register(cli: click.Group) -> None:
    @cli.group("dataset")
    def dataset() -> None:
        """Dataset tools of a skill (synthetic data, layout checks); extra arguments go to the tool."""

    for name, doc in (("synth", "Generate a synthetic dataset in the network's real on-disk layout."),
                      ("check", "Check a dataset's layout and files; report problems in plain words.")):
        def make(tool: str, help_text: str) -> None:
            @dataset.command(tool, help=help_text, context_settings={"ignore_unknown_options": True,
                                                                     "allow_extra_args": True})
            @click.argument("network")
            @click.argument("args", nargs=-1, type=click.UNPROCESSED)
            @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory.")
            def cmd(network: str, args: tuple[str, ...], skill_dir: Path | None) -> int:
                return _tool(network, tool, args, skill_dir)

        make(name, doc)
