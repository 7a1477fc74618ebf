"""`tao-skill demo NETWORK`: the skill's end-to-end recipe on built-in data."""

from __future__ import annotations

from pathlib import Path

import click

from tao_skill.errors import ErrorItem, RunnerError


def _summary(results) -> str:
    lines = ["", "demo summary:"]
    for r in results:
        job = r.job or {}
        lines.append(f"  {r.name:<10} {r.kind:<16} exit {r.exit_code}  {r.seconds:6.1f} s"
                     + (f"  job {r.job_id}" if r.job_id else ""))
        if job.get("results_dir"):
            lines.append(f"             results: {job['results_dir']}")
        kpis = (job.get("kpis") or {}).get("last")
        if kpis:
            lines.append("             KPIs: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in kpis.items()))
        if r.error:
            lines.append("             " + r.error.replace("\n", "\n             "))
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    @cli.command("demo")
    @click.argument("network")
    @click.option("--workdir", type=click.Path(path_type=Path), default=None,
                  help="Where the demo writes its data (default: a new temp folder).")
    @click.option("--workspace", type=click.Path(path_type=Path), default=None)
    @click.option("--skill-dir", type=click.Path(path_type=Path), default=None)
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def demo_cmd(app, network: str, workdir: Path | None, workspace: Path | None, skill_dir: Path | None,
                 json_mode: bool) -> int:
        """Generate data, train briefly, evaluate, infer and export, all through `tao-skill run`."""
        from tao_skill.demo import run_demo  # noqa: PLC0415
        from tao_skill.skills import get_skill  # noqa: PLC0415

        app.json_mode = json_mode
        skill = get_skill(network, skill_dir)
        steps = (skill.info.get("demo") or {}).get("steps")
        if not steps:
            raise RunnerError(ErrorItem("demo", f"`{network}` declares no demo in skill_info.yaml"))
        from tao_skill.cli.options import workspace_path  # noqa: PLC0415

        workspace = workspace_path(workspace).resolve()  # a file or read-only folder: exit 2 naming it
        import tempfile  # noqa: PLC0415 - only the demo needs it

        workdir = (workdir or Path(tempfile.mkdtemp(prefix=f"{network}-demo-"))).resolve()
        extra = ["--skill-dir", str(skill_dir)] if skill_dir else []
        results = run_demo(network, steps, workdir=workdir, workspace=workspace, skill_dir=skill.root,
                           extra_cli=extra, echo=app.info)
        ok = len(results) == len(steps) and all(r.exit_code == 0 for r in results)
        doc = {"ok": ok, "workdir": str(workdir), "workspace": str(workspace),
               "steps": [{"name": r.name, "kind": r.kind, "exit_code": r.exit_code, "seconds": round(r.seconds, 2),
                          "job_id": r.job_id, "status": (r.job or {}).get("status"),
                          "results_dir": (r.job or {}).get("results_dir"), "kpis": (r.job or {}).get("kpis"),
                          "error": r.error or None} for r in results]}
        app.emit(doc, _summary(results) + f"\n\n{'demo finished' if ok else 'demo FAILED'}; data in {workdir}, "
                 f"jobs in {workspace} (`tao-skill jobs list --workspace {workspace}`)")
        return 0 if ok else 4
