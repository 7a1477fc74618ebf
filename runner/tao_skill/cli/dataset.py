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


def _tool_json(app, network: str, name: str, args: tuple[str, ...], skill_dir: Path | None) -> int:
    """``--json``: one JSON document. A tool that speaks JSON itself (``--json``) prints it; for one that
    does not (argparse rejects the flag) its output is captured and wrapped."""
    import json  # noqa: PLC0415

    from tao_skill.skills import get_skill  # noqa: PLC0415

    argv = tool_argv(get_skill(network, skill_dir), name, args)
    try:
        proc = subprocess.run([*argv, "--json"], capture_output=True, text=True)
        if proc.returncode == 2 and "unrecognized arguments: --json" in proc.stderr:
            proc = subprocess.run(argv, capture_output=True, text=True)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:
        raise RunnerError(f"cannot start the `{name}` tool {argv[0]}: {exc.strerror}") from None
    if proc.stderr:
        sys.stderr.write(proc.stderr)
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        doc = {"ok": proc.returncode == 0, "exit_code": proc.returncode, "tool": name, "network": network,
               "args": list(args), "output": proc.stdout}
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            doc["errors"] = [{"key": None, "message": f"`dataset {name}` failed: {tail}", "expected": None,
                              "got": None, "suggestion": None}]
    app.json_mode = True
    app.emit(doc)
    return proc.returncode


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
            @click.option("--json", "json_mode", is_flag=True, help="Print exactly one JSON document on stdout.")
            @click.option("--workspace", type=click.Path(path_type=Path), default=None,
                          help="Accepted like everywhere; dataset tools do not use it.")
            @click.pass_obj
            def cmd(app, network: str, args: tuple[str, ...], skill_dir: Path | None, json_mode: bool,
                    workspace: Path | None) -> int:
                if json_mode:
                    return _tool_json(app, network, tool, args, skill_dir)
                return _tool(network, tool, args, skill_dir)

        make(name, doc)
