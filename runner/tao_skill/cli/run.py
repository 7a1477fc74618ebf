"""`tao-skill run` and `tao-skill validate`."""

from __future__ import annotations

import click

from tao_skill.cli.options import request_from, spec_options
from tao_skill.errors import EXIT_INVALID, EXIT_OK, ErrorItem, RunnerError


def _human_plan(plan: dict) -> str:
    lines = [f"{plan['network']} {plan['action']}: route {plan['route']} ({plan['route_reason']})",
             f"  automl_policy {plan['automl_policy']}: {plan['policy_reason']}"]
    if plan.get("notice"):
        lines.append(f"  note: {plan['notice']}")
    lines.append(f"  job {plan['job_id']}  results {plan['results_dir']}")
    for m in plan["mappings"]:
        lines.append(f"  {m['key']} <- {m['function']}: {m['value']}  [{m['source']}]")
    for d in plan["data_sources"]:
        lines.append(f"  data {d['key']}: {d['uri']} -> {d.get('local_path')} (cached: {d.get('cached')})")
    lines.append("  command: " + " ".join(plan["command"]))
    return "\n".join(lines)


def _launch_automl(prep, app) -> int:
    try:
        from tao_skill.automl.launcher import run_from_plan  # noqa: PLC0415
    except ImportError:
        raise RunnerError(ErrorItem(None, "AutoML route chosen but the AutoML runner is not installed; "
                                          "rerun with --automl-policy off"), EXIT_INVALID) from None
    return run_from_plan(prep, app)


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.argument("network")
    @click.argument("action")
    @click.option("--dry-run", is_flag=True, help="Resolve, validate and print the plan; run nothing.")
    @spec_options
    def run_cmd(network: str, action: str, dry_run: bool, json_mode: bool, **kw) -> int:
        """Run ACTION of NETWORK as a recorded job (train may route to AutoML)."""
        from tao_skill.app import App  # noqa: PLC0415
        from tao_skill.plan import prepare  # noqa: PLC0415

        app = App(json_mode)
        prep = prepare(request_from(network, action, kw))
        plan = prep.plan
        if dry_run:
            app.emit({**plan, "dry_run": True}, _human_plan(plan))
            return EXIT_OK
        if plan.get("notice"):
            app.warn(plan["notice"])
        if plan["route"] == "automl":
            return _launch_automl(prep, app)
        from tao_skill.launch import execute  # noqa: PLC0415

        if not json_mode:
            app.info(_human_plan(plan))
        record = execute(prep, out=app.log_stream)
        code = record["runner_exit_code"]
        app.emit({**plan, "ok": code == EXIT_OK, "job": record, "status": record["status"], "kpis": record["kpis"]},
                 f"job {record['job_id']} {record['status']} (exit {record['exit_code']}); results {record['results_dir']}"
                 + (f"\nKPIs: {record['kpis']}" if record["kpis"] else ""))
        return code

    @cli.command("validate")
    @click.argument("network")
    @click.argument("action")
    @spec_options
    def validate_cmd(network: str, action: str, json_mode: bool, **kw) -> int:
        """Resolve and validate a spec exactly like `run --dry-run`, without creating a job."""
        from tao_skill.app import App  # noqa: PLC0415
        from tao_skill.plan import prepare  # noqa: PLC0415

        plan = prepare(request_from(network, action, kw)).plan
        App(json_mode).emit({"ok": True, "network": plan["network"], "action": action, "spec": plan["spec"],
                             "mappings": plan["mappings"]}, f"{network} {action}: spec is valid")
        return EXIT_OK
