"""`tao-skill schemas generate|check`: maintainers regenerate a skill's generated files from its config."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _skill_root(network: str | None, skill_dir: Path | None) -> list[Path]:
    from tao_skill.skills import discover  # noqa: PLC0415

    if skill_dir:
        return [Path(skill_dir)]
    skills = discover()
    if network:
        from tao_skill.skills import get_skill  # noqa: PLC0415

        return [get_skill(network).root]
    return [s.root for s in skills.values()]


def register(cli: click.Group) -> None:
    @cli.group("schemas")
    def schemas() -> None:
        """Generated schemas, spec templates, manifest and SKILL.md tables."""

    @schemas.command("generate")
    @click.option("--network", default=None, help="Only this network of the bank.")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None)
    def generate_cmd(network: str | None, skill_dir: Path | None) -> int:
        """Write schemas/, references/spec_template_*.yaml, manifest.json and SKILL.md tables from the config."""
        from tao_skill.schemagen import generate  # noqa: PLC0415

        for root in _skill_root(network, skill_dir):
            for path in generate(root):
                click.echo(str(path))
        return 0

    @schemas.command("check")
    @click.option("--network", default=None)
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None)
    def check_cmd(network: str | None, skill_dir: Path | None) -> int:
        """Exit 1 with a diff when packaged files drift from the config."""
        from tao_skill.schemagen import check  # noqa: PLC0415

        drift = False
        for root in _skill_root(network, skill_dir):
            diff = check(root)
            if diff:
                drift = True
                sys.stdout.writelines(diff)
                click.echo(f"drift in {root}: run `tao-skill schemas generate`", err=True)
            else:
                click.echo(f"{root}: schemas, templates and SKILL.md tables are in sync")
        return 1 if drift else 0
