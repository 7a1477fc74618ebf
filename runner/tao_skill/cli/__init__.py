"""`tao-skill`: the command-line face of the runner. One module per command; heavy imports stay lazy.

The root group only registers commands. Each command module defines ``register(cli)``; the AutoML
engineer's ``tao_skill/cli/automl.py`` is picked up the same way when it exists. Commands return an
exit code (0 ok, 2 invalid input, 3 staging, 4 job failed, 130 interrupted) and raise
:class:`~tao_skill.errors.RunnerError` for anything the user must fix; :class:`_Root` renders it
through the :class:`~tao_skill.app.Application` in ``ctx.obj``, so ``CliRunner`` and the installed
script behave the same.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import click

from tao_skill.app import Application
from tao_skill.cli.options import ensure_common_options
from tao_skill.errors import EXIT_INTERRUPTED, EXIT_INVALID, RunnerError


class _Root(click.Group):
    """Turns RunnerError into the rendered error and its exit code, and int results into exit codes."""

    def invoke(self, ctx: click.Context):
        if not isinstance(ctx.obj, Application):
            ctx.obj = Application()
        try:
            rv = super().invoke(ctx)
        except RunnerError as exc:
            ctx.exit(ctx.obj.fail(exc))
        if isinstance(rv, int) and rv != 0:
            ctx.exit(rv)
        return rv


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tao-skill-bank")
def cli() -> None:
    """Schema-driven jobs for agent skills: list, describe, validate, run, jobs, schemas, dataset, automl, demo.

    Exit codes: 0 ok, 2 invalid input, 3 data staging failure, 4 job failed, 130 interrupted.
    With --json a command prints exactly one JSON document on stdout.
    """


def _register() -> None:
    from tao_skill.cli import dataset, demo, describe, jobs, mcp, run, schemas, skills  # noqa: PLC0415

    for module in (describe, run, jobs, schemas, dataset, demo, skills, mcp):
        module.register(cli)
    try:
        from tao_skill.cli import automl  # noqa: PLC0415 - added by the AutoML engineer
    except ImportError:
        return
    automl.register(cli)


_register()
ensure_common_options(cli)  # every command takes --json and --workspace (the CLI contract)


def _json_error(argv: list[str], message: str, code: int) -> int:
    if "--json" in argv:
        sys.stdout.write(json.dumps({"ok": False, "exit_code": code, "errors": [
            {"key": None, "message": message, "expected": None, "got": None, "suggestion": None}]}, indent=2) + "\n")
    else:
        print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `tao-skill` script; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    app = Application(json_mode="--json" in args)
    try:
        rv = cli.main(args=args, prog_name="tao-skill", standalone_mode=False, obj=app)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        if "--json" in args:
            return _json_error(args, exc.format_message(), EXIT_INVALID)
        exc.show()
        return EXIT_INVALID
    except RunnerError as exc:  # raised outside a command body (should not happen; rendered anyway)
        return app.fail(exc)
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("TAO_SKILL_DEBUG"):
            traceback.print_exc()
        return _json_error(args, f"internal error: {type(exc).__name__}: {exc} "
                                 "(set TAO_SKILL_DEBUG=1 for a traceback)", 1)
