"""`tao-skill jobs report ID`: where a job's report.html is (train, evaluate and inference jobs write one).

Kept apart from cli/jobs.py (which only calls :func:`register_report`) so the jobs commands stay small.
"""

from __future__ import annotations

from pathlib import Path

import click

from tao_skill.cli.options import JSON_OPTION, WORKSPACE_OPTION, workspace_path
from tao_skill.errors import EXIT_OK, ErrorItem

REPORT_FILE = "report.html"


def register_report(jobs: click.Group) -> None:
    @jobs.command("report")
    @click.argument("job_id")
    @click.option("--open", "open_it", is_flag=True, help="Also open the page in the default web browser.")
    @WORKSPACE_OPTION
    @JSON_OPTION
    @click.pass_obj
    def report_cmd(app, job_id: str, open_it: bool, workspace: Path | None, json_mode: bool) -> int:
        """Print the path of a job's report.html (one offline page: KPIs, curves, per-class table and, for
        inference, each image with its 2D panoptic overlay, depth map and an interactive 3D mesh view)."""
        from tao_skill.jobs import JobStore  # noqa: PLC0415

        app.json_mode = json_mode
        job = JobStore(workspace_path(workspace)).get(job_id)
        path = Path(job.results_dir) / REPORT_FILE
        if not path.is_file():
            running = job.status in ("pending", "running")
            app.abort(ErrorItem(
                "job_id", f"job {job_id} ({job.action}, {job.status}) has no {REPORT_FILE} in {job.results_dir}",
                expected="a finished train, evaluate or inference job", got=job.action,
                suggestion="wait for the job to finish (tao-skill jobs wait ID)" if running else
                "train, evaluate and inference jobs write it when they succeed; see tao-skill jobs logs ID"))
        opened = False
        if open_it:
            opened = click.launch(path.resolve().as_uri()) == 0
        app.emit({"ok": True, "job_id": job_id, "action": job.action, "path": str(path), "opened": opened},
                 str(path))
        return EXIT_OK
