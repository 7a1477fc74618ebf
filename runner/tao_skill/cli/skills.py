"""`tao-skill skills check|sync`: keep the skill folders self-contained and valid Agent Skills."""

from __future__ import annotations

from pathlib import Path

import click


def _roots(skill_dir: Path | None) -> list[Path]:
    from tao_skill.skills import discover  # noqa: PLC0415

    if skill_dir:
        return [Path(skill_dir).resolve()]
    return [s.root for s in discover().values()]


def register(cli: click.Group) -> None:
    @cli.group("skills")
    def skills() -> None:
        """The agent-facing skill folders (skills/*/): spec rules, references inside the folder, evals."""

    @skills.command("check")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory.")
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def check_cmd(app, skill_dir: Path | None, json_mode: bool) -> int:
        """Exit 1 listing every problem: frontmatter, body length, references outside the folder or missing,
        stale copies, evals/evals.json format."""
        from tao_skill.skillcheck import check_all  # noqa: PLC0415

        app.json_mode = json_mode
        checked, problems = [], []
        for root in _roots(skill_dir):
            folders, found = check_all(root)
            checked += folders
            problems += found
        human = [f"{p.skill}: {p.where}: {p.message}" for p in problems]
        human.append(f"{len(checked)} skill folder(s) checked, {len(problems)} problem(s)")
        app.emit({"ok": not problems, "checked": checked, "problems": [p.as_dict() for p in problems]},
                 "\n".join(human))
        return 1 if problems else 0

    @skills.command("sync")
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None, help="A skill directory.")
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def sync_cmd(app, skill_dir: Path | None, json_mode: bool) -> int:
        """Rewrite the files copied into skill folders (skills/copies.yaml) from their sources."""
        from tao_skill.skillcheck import sync_copies  # noqa: PLC0415

        app.json_mode = json_mode
        written = [p for root in _roots(skill_dir) for p in sync_copies(root)]
        app.emit({"ok": True, "written": written}, "\n".join(written) or "copies are up to date")
        return 0
