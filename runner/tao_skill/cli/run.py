"""`tao-skill run` and `tao-skill validate`."""

from __future__ import annotations

import click

from tao_skill.cli.options import automl_options, request_from, spec_options
from tao_skill.errors import EXIT_OK


def _human_plan(plan: dict) -> str:
    lines = [f"{plan['network']} {plan['action']}: route {plan['route']} ({plan['route_reason']})",
             f"  automl_policy {plan['automl_policy']}: {plan['policy_reason']}"]
    for note in ("notice", "schema_note", "automl_note", "remote_note"):
        if plan.get(note):
            lines.append(f"  note: {plan[note]}")
    if plan.get("automl"):
        a = plan["automl"]
        lines.append(f"  automl: {a['algorithm']} ({a['sampler']} + {a['pruner']}), {a['max_trials']} trials, "
                     f"{a['metric']} {a['direction']}, epochs/trial {a['epochs_per_trial'] or 'spec'}, "
                     f"samples/trial {a['train_sample_count'] or 'all'}, storage {a['storage']}")
        for p in a["search_space"]:
            rng = p.get("choices") or f"[{p.get('low')}, {p.get('high')}]" + (" log" if p.get("log") else "")
            lines.append(f"    search {p['key']}: {rng}")
    lines.append(f"  job {plan['job_id']}  results {plan['results_dir']}"
                 + (f" -> {plan['results_uri']}" if plan.get("results_uri") else ""))
    for m in plan["mappings"]:
        lines.append(f"  {m['key']} <- {m['function']}: {m['value']}  [{m['source']}]")
    if plan.get("ignored_sections"):  # a whole-experiment spec (NVIDIA's): other actions' sections
        lines.append(f"  sections of other actions, checked and not used: {', '.join(plan['ignored_sections'])}")
    res = plan.get("parent_resolution")
    if res:
        lines.append(f"  parent {res['automl_job']} (AutoML) -> {res['chosen']} {res['job_id']} (trial {res['trial']}, "
                     f"{res['metric']} {res['value']})")
    lin = plan.get("lineage")
    if lin:
        lines.append(f"  from {lin['source']}: {len(lin.get('keys', []))} keys"
                     + (f" ({', '.join(lin['keys'][:6])}{', ...' if len(lin['keys']) > 6 else ''})" if lin.get('keys')
                        else ""))
        for c in lin.get("changed", []):
            lines.append(f"    changed {c['key']}: {c['parent']!r} -> {c['value']!r} [{c['source']}]")
    if plan.get("ptm"):
        p = plan["ptm"]
        lines.append(f"  ptm {p['uri']}: {p['why']} -> {', '.join(p['keys'])}"
                     + (f"; not used: {'; '.join(p['skipped'])}" if p.get("skipped") else ""))
    for d in plan["data_sources"]:
        lines.append(f"  data {d['key']}: {d['uri']} -> {d.get('local_path')} (cached: {d.get('cached')})")
    lines.append("  command: " + " ".join(plan["command"]))
    return "\n".join(lines)


_PTM_KIND = click.option("--ptm-kind", metavar="KIND", default=None,
                         help="What --ptm holds (the skill's ptm_kinds, e.g. backbone, 2d, 3d); default: read from "
                              "the file's tensor names.")


def _preflight(prep) -> dict | None:
    """The preflight report of a train plan (GPUs, memory estimate, disk; tao_skill.preflight), else None."""
    if prep.plan["action"] != "train":
        return None
    from tao_skill.preflight import preflight  # noqa: PLC0415

    return preflight(prep.skill, "train", prep.spec, prep.results_dir, wait_for_estimate=False)


def _preflight_text(report: dict) -> str:
    from tao_skill.preflight import human  # noqa: PLC0415

    return human(report)


def register(cli: click.Group) -> None:
    @cli.command("run")
    @click.argument("network")
    @click.argument("action")
    @click.option("--dry-run", is_flag=True, help="Resolve, validate and print the plan; run nothing.")
    @_PTM_KIND
    @click.option("--detach", is_flag=True, help="Check and record the job, start it in the background and return "
                                                 "its id at once (`tao-skill jobs wait ID`, `jobs logs ID --follow`).")
    @spec_options
    @automl_options
    @click.pass_obj
    def run_cmd(app, network: str, action: str, dry_run: bool, detach: bool, ptm_kind: str | None, json_mode: bool,
                **kw) -> int:
        """Run ACTION of NETWORK as a recorded job (train may route to AutoML).

        The spec is assembled from the action's template, --spec, --override and --overrides-json;
        spec_params mappings fill results_dir, the key, parent/PTM/resume checkpoints and ONNX paths;
        every mandatory data source must be set; the spec is validated against the generated schema
        and the config's cross-field rules. With --dry-run the full plan is printed and nothing runs.
        """
        from tao_skill.plan import prepare  # noqa: PLC0415

        app.json_mode = json_mode
        req = request_from(network, action, kw)
        req.ptm_kind = ptm_kind
        prep = prepare(req)
        plan = prep.plan
        if dry_run:
            report = _preflight(prep)
            app.emit({**plan, "dry_run": True, "preflight": report},
                     _human_plan(plan) + (f"\n{_preflight_text(report)}" if report else ""))
            return EXIT_OK
        for note in ("notice", "schema_note", "remote_note"):
            if plan.get(note):
                app.warn(plan[note])
        if detach:
            from tao_skill.detach import detach as start_detached  # noqa: PLC0415

            job = start_detached(prep, req)
            app.emit({**plan, "ok": True, "detached": True, "status": job["status"], "job": job},
                     f"job {plan['job_id']} started in the background (runner pid {job['runner_pid']}); "
                     f"`tao-skill jobs wait {plan['job_id']}` or `tao-skill jobs logs {plan['job_id']} --follow`")
            return EXIT_OK
        from tao_skill.routes import run_prepared  # noqa: PLC0415

        if not json_mode:
            app.info(_human_plan(plan))
        record = run_prepared(prep, out=app.log_stream)
        code = record["runner_exit_code"]
        doc = {**plan, "ok": code == EXIT_OK, "job": record, "status": record["status"], "kpis": record["kpis"]}
        if record.get("errors"):
            doc["errors"] = record["errors"]
        human = (f"job {record['job_id']} {record['status']} (exit {record['exit_code']}); "
                 f"results {record['results_dir']}" + (f"\nKPIs: {record['kpis']}" if record["kpis"] else ""))
        for err in record.get("errors") or []:
            human += f"\nerror: {err['message']}"
        app.emit(doc, human)
        return code

    @cli.command("validate")
    @click.argument("network")
    @click.argument("action")
    @_PTM_KIND
    @spec_options
    @click.pass_obj
    def validate_cmd(app, network: str, action: str, ptm_kind: str | None, json_mode: bool, **kw) -> int:
        """Resolve and validate a spec exactly like `run --dry-run`, without creating a job."""
        from tao_skill.plan import prepare  # noqa: PLC0415

        app.json_mode = json_mode
        req = request_from(network, action, kw)
        req.ptm_kind = ptm_kind
        prep = prepare(req)
        plan = prep.plan
        report = _preflight(prep)
        app.emit({"ok": True, "network": plan["network"], "action": action, "spec": plan["spec"],
                  "mappings": plan["mappings"], "data_sources": plan["data_sources"],
                  "remote_checks": plan.get("remote_checks", []), "preflight": report,
                  "ignored_sections": plan.get("ignored_sections", {})},
                 f"{network} {action}: spec is valid" + (f"\n  note: {plan['remote_note']}" if plan.get("remote_note") else "")
                 + (f"\n  sections of other actions, checked and not used: {', '.join(plan['ignored_sections'])}"
                    if plan.get("ignored_sections") else "")
                 + (f"\n{_preflight_text(report)}" if report else ""))
        return EXIT_OK
