"""`tao-skill schemas generate|check`: maintainers regenerate a skill's generated files from its config."""

from __future__ import annotations

from pathlib import Path

import click


def _skill_roots(network: str | None, skill_dir: Path | None) -> list[Path]:
    from tao_skill.skills import discover, get_skill  # noqa: PLC0415

    if skill_dir:
        return [Path(skill_dir).resolve()]
    if network:
        return [get_skill(network).root]
    return [s.root for s in discover().values()]


def _schemagen():
    from tao_skill.errors import RunnerError  # noqa: PLC0415

    try:
        from tao_skill import schemagen  # noqa: PLC0415
    except ImportError as exc:
        raise RunnerError(f"the schema generator (tao_skill.schemagen) is not installed: {exc}") from None
    return schemagen


def _generator_errors():
    from tao_skill.schemagen.generate import SchemaGenError  # noqa: PLC0415

    return SchemaGenError


def register(cli: click.Group) -> None:
    @cli.group("schemas")
    def schemas() -> None:
        """Generated schemas, spec templates, manifest and SKILL.md tables of a skill directory."""

    @schemas.command("generate")
    @click.option("--network", default=None, help="Only this network of the bank.")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory.")
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def generate_cmd(app, network: str | None, skill_dir: Path | None, json_mode: bool) -> int:
        """Write schemas/, references/spec_template_*.yaml and manifest.json from the skill's config."""
        from tao_skill.errors import RunnerError  # noqa: PLC0415

        app.json_mode = json_mode
        gen = _schemagen()
        written: list[str] = []
        for root in _skill_roots(network, skill_dir):
            try:
                written += [str(p) for p in gen.generate(root)]
            except _generator_errors() as exc:
                raise RunnerError(f"cannot generate {root}: {exc}") from None
        app.emit({"ok": True, "written": written}, "\n".join(written))
        return 0

    @schemas.command("check")
    @click.option("--network", default=None, help="Only this network of the bank.")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory.")
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def check_cmd(app, network: str | None, skill_dir: Path | None, json_mode: bool) -> int:
        """Exit 1 with a unified diff when the packaged files drift from what the config generates."""
        from tao_skill.errors import RunnerError  # noqa: PLC0415

        app.json_mode = json_mode
        gen = _schemagen()
        report: dict[str, list[str]] = {}
        for root in _skill_roots(network, skill_dir):
            try:
                report[str(root)] = list(gen.check(root))
            except _generator_errors() as exc:
                raise RunnerError(f"cannot check {root}: {exc}") from None
        drift = {root: diff for root, diff in report.items() if diff}
        human = []
        for root, diff in report.items():
            if diff:
                human.append("".join(line if line.endswith("\n") else line + "\n" for line in diff).rstrip("\n"))
                human.append(f"drift in {root}: run `tao-skill schemas generate`")
            else:
                human.append(f"{root}: schemas, templates and SKILL.md tables are in sync")
        app.emit({"ok": not drift, "drift": drift, "checked": list(report)}, "\n".join(human))
        return 1 if drift else 0
