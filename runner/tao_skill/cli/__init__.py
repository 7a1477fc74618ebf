"""`tao-skill`: the command-line face of the runner. One module per command; heavy imports stay lazy."""

from __future__ import annotations

import os
import sys
import traceback

import click

from tao_skill.errors import RunnerError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tao-skill-bank")
def cli() -> None:
    """Schema-driven jobs for agent skills: list, describe, validate, run, jobs, schemas, dataset, automl, demo."""


def _register() -> None:
    from tao_skill.cli import dataset, demo, describe, jobs, run, schemas  # noqa: PLC0415

    for module in (describe, run, jobs, schemas, dataset, demo):
        module.register(cli)
    try:
        from tao_skill.cli import automl  # noqa: PLC0415
    except ImportError:
        return
    automl.register(cli)


_register()


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit codes 0 ok, 2 invalid input, 3 staging, 4 job failed, 130 interrupted."""
    try:
        rv = cli.main(args=argv, prog_name="tao-skill", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        print("interrupted", file=sys.stderr)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except RunnerError as exc:
        from tao_skill.app import App  # noqa: PLC0415

        return App("--json" in (argv or sys.argv)).fail(exc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last line of defence: one line, no traceback
        if os.environ.get("TAO_SKILL_DEBUG"):
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc} (set TAO_SKILL_DEBUG=1 for a traceback)", file=sys.stderr)
        return 1
