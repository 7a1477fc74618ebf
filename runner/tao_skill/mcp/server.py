"""The MCP server: one tool per CLI operation, each returning that command's JSON document.

Why the tools run the CLI as a subprocess instead of calling its functions: the result is then the
CLI's document byte for byte (one implementation, one contract), a blocking call (``job_wait``) never
stalls the other tools, and a crash in one job's planning cannot take the server down. A plan costs
about a tenth of a second (benchmarks/bench_dry_run.py). Long work never blocks a tool: ``run`` starts
the job with ``run --detach`` and returns its id; ``job_status`` / ``job_logs`` / ``job_wait`` follow it.

Annotations: every tool that only reads says ``readOnlyHint``; ``job_cancel`` says ``destructiveHint``;
``run`` creates a job (neither read-only nor destructive, not idempotent).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Literal

from mcp.server.fastmcp import FastMCP
from mcp.types import CallToolResult, TextContent, ToolAnnotations

INSTRUCTIONS = (
    "Schema-driven jobs for agent skills (NVPanoptix3D: panoptic 3D reconstruction from one RGB image). "
    "Start with list_skills and describe (describe NETWORK ACTION lists every spec key of the action). "
    "Always plan before run: plan resolves and validates everything and runs nothing. run starts the job in "
    "the background and returns its job_id; follow it with job_status, job_logs and job_wait. Pass the user's "
    "own words as `request` so phrases like 'no HPO' / '关闭AutoML' set the AutoML policy. Results and errors "
    "are the tao-skill CLI's JSON documents; an error names the key, what was expected and a suggestion."
)

_READ = ToolAnnotations(readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False)
_RUN = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=True)
_CANCEL = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)

#: tool name -> (CLI command it runs, annotations); the server and its tests read this table.
TOOLS: dict[str, tuple[str, ToolAnnotations]] = {
    "list_skills": ("list", _READ),
    "describe": ("describe", _READ),
    "validate": ("validate", _READ),
    "plan": ("run --dry-run", _READ),
    "run": ("run --detach", _RUN),
    "job_status": ("jobs show", _READ),
    "job_logs": ("jobs logs", _READ),
    "job_wait": ("jobs wait", _READ),
    "job_cancel": ("jobs cancel", _CANCEL),
    "jobs_list": ("jobs list", _READ),
    "automl_status": ("automl status", _READ),
}

Policy = Literal["on", "off", "auto"]


def _error_doc(message: str, code: int) -> dict[str, Any]:
    return {"ok": False, "exit_code": code, "errors": [
        {"key": None, "message": message, "expected": None, "got": None, "suggestion": None}]}


class CliRunner:
    """Runs ``tao-skill ARGS --json --workspace W`` and turns its one JSON document into a tool result."""

    def __init__(self, workspace: Path | None, skill_dir: Path | None) -> None:
        self.workspace = Path(workspace).resolve() if workspace else None
        self.skill_dir = Path(skill_dir).resolve() if skill_dir else None

    def argv(self, args: list[str], *, workspace: str | None, skill_dir: bool) -> list[str]:
        ws = workspace or (str(self.workspace) if self.workspace else None)
        extra = ["--json"] + (["--workspace", ws] if ws else [])
        if skill_dir and self.skill_dir:
            extra += ["--skill-dir", str(self.skill_dir)]
        return [sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", *args, *extra]

    async def __call__(self, args: list[str], *, workspace: str | None = None,
                       skill_dir: bool = False) -> CallToolResult:
        import anyio  # noqa: PLC0415

        proc = await anyio.run_process(self.argv(args, workspace=workspace, skill_dir=skill_dir), check=False,
                                       env=dict(os.environ))
        out = proc.stdout.decode("utf-8", "replace")
        try:
            doc = json.loads(out)
        except ValueError:
            tail = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
            doc = _error_doc(f"`tao-skill {' '.join(args[:2])}` printed no JSON document (exit "
                             f"{proc.returncode}): {tail}", proc.returncode or 1)
        if not isinstance(doc, dict):
            doc = {"ok": proc.returncode == 0, "result": doc}
        failed = proc.returncode != 0 or doc.get("ok") is False
        if failed:
            doc.setdefault("exit_code", proc.returncode)
        return CallToolResult(content=[TextContent(type="text", text=json.dumps(doc, indent=2))],
                              structuredContent=doc, isError=failed)


def _spec_args(network: str, action: str, *, overrides: list[str] | None, overrides_json: dict[str, Any] | None,
               spec_file: str | None, train_dataset: str | None, eval_dataset: str | None,
               inference_dataset: str | None, automl_policy: str | None, request: str | None,
               parent_job: str | None, ptm: str | None, resume: str | None, key_env: str | None,
               results_dir: str | None) -> list[str]:
    args = [network, action]
    for item in overrides or []:
        args += ["--override", item]
    if overrides_json:
        args += ["--overrides-json", json.dumps(overrides_json)]
    for flag, value in (("--spec", spec_file), ("--train-dataset", train_dataset), ("--eval-dataset", eval_dataset),
                        ("--inference-dataset", inference_dataset), ("--automl-policy", automl_policy),
                        ("--request", request), ("--parent-job", parent_job), ("--ptm", ptm), ("--resume", resume),
                        ("--key-env", key_env), ("--results-dir", results_dir)):
        if value not in (None, ""):
            args += [flag, str(value)]
    return args


def _automl_args(algorithm: str | None, max_trials: int | None, epochs_per_trial: int | None,
                 train_sample_count: int | None, params: list[str] | None, metric: str | None,
                 direction: str | None, seed: int | None) -> list[str]:
    args: list[str] = []
    for flag, value in (("--algorithm", algorithm), ("--max-trials", max_trials),
                        ("--epochs-per-trial", epochs_per_trial), ("--train-sample-count", train_sample_count),
                        ("--metric", metric), ("--direction", direction), ("--seed", seed)):
        if value is not None:
            args += [flag, str(value)]
    for p in params or []:
        args += ["--param", p]
    return args


def build_server(workspace: Path | None = None, skill_dir: Path | None = None, *, host: str = "127.0.0.1",
                 port: int = 8765) -> FastMCP:
    """The FastMCP server with every tool of :data:`TOOLS`; ``workspace``/``skill_dir`` are the defaults
    each tool passes to the CLI (a tool's own ``workspace`` argument wins)."""
    cli = CliRunner(workspace, skill_dir)
    server = FastMCP("tao-skill", instructions=INSTRUCTIONS, host=host, port=port)

    def tool(name: str, title: str):
        return server.tool(name=name, title=title, annotations=TOOLS[name][1])

    @tool("list_skills", "List skills")
    async def list_skills(workspace: str | None = None) -> CallToolResult:
        """The skills (networks) in the bank with their actions (`tao-skill list --json`)."""
        return await cli(["list"], workspace=workspace, skill_dir=True)

    @tool("describe", "Describe a network or one action")
    async def describe(network: str, action: str | None = None, workspace: str | None = None) -> CallToolResult:
        """Actions, mandatory data sources, spec_params mappings, popular keys, shorthand keys and AutoML status;
        with `action`, every spec key of that action (type, default, allowed values, meaning, which flag fills
        it). Same document as `tao-skill describe NETWORK [ACTION] --json`."""
        return await cli(["describe", network, *([action] if action else [])], workspace=workspace, skill_dir=True)

    @tool("validate", "Validate a spec")
    async def validate(network: str, action: str, overrides: list[str] | None = None,
                       overrides_json: dict[str, Any] | None = None, spec_file: str | None = None,
                       train_dataset: str | None = None, eval_dataset: str | None = None,
                       inference_dataset: str | None = None, parent_job: str | None = None, ptm: str | None = None,
                       resume: str | None = None, key_env: str | None = None, results_dir: str | None = None,
                       workspace: str | None = None) -> CallToolResult:
        """Resolve and validate a spec exactly like a plan, without creating a job (`tao-skill validate`).
        `overrides` are "KEY=VALUE" strings (dotted or shorthand keys, values parsed as YAML)."""
        args = _spec_args(network, action, overrides=overrides, overrides_json=overrides_json, spec_file=spec_file,
                          train_dataset=train_dataset, eval_dataset=eval_dataset, inference_dataset=inference_dataset,
                          automl_policy=None, request=None, parent_job=parent_job, ptm=ptm, resume=resume,
                          key_env=key_env, results_dir=results_dir)
        return await cli(["validate", *args], workspace=workspace, skill_dir=True)

    async def _run(extra: list[str], network: str, action: str, kw: dict[str, Any]) -> CallToolResult:
        automl = _automl_args(*(kw.pop(k) for k in ("algorithm", "max_trials", "epochs_per_trial",
                                                    "train_sample_count", "params", "metric", "direction", "seed")))
        workspace = kw.pop("workspace")
        args = _spec_args(network, action, **kw)
        return await cli(["run", *args, *automl, *extra], workspace=workspace, skill_dir=True)

    def job_tool(flag: str, doc: str):
        """A plan/run tool: one signature (the flags of `tao-skill run`), ``flag`` = --dry-run or --detach."""

        async def call(network: str, action: str, overrides: list[str] | None = None,
                       overrides_json: dict[str, Any] | None = None, spec_file: str | None = None,
                       train_dataset: str | None = None, eval_dataset: str | None = None,
                       inference_dataset: str | None = None, automl_policy: Policy | None = None,
                       request: str | None = None, parent_job: str | None = None, ptm: str | None = None,
                       resume: str | None = None, key_env: str | None = None, results_dir: str | None = None,
                       algorithm: str | None = None, max_trials: int | None = None,
                       epochs_per_trial: int | None = None, train_sample_count: int | None = None,
                       params: list[str] | None = None, metric: str | None = None,
                       direction: Literal["maximize", "minimize"] | None = None, seed: int | None = None,
                       workspace: str | None = None) -> CallToolResult:
            return await _run([flag], network, action, _pick(locals()))

        call.__doc__ = doc
        return call

    tool("plan", "Plan a job (dry run)")(job_tool("--dry-run", """The full plan of `tao-skill run NETWORK ACTION ... --dry-run --json`: route (automl or direct) and
        why, automl_policy, the resolved spec (secrets as ***), spec_params mappings, data sources, command.
        Nothing runs. Pass the user's words as `request`; AutoML flags (algorithm, max_trials, params
        "KEY=LOW:HIGH" or "KEY=a,b,c") shape the study when train routes to AutoML."""))
    tool("run", "Start a job (detached)")(job_tool("--detach", """Validate, record and start the job in the background (`tao-skill run ... --detach --json`); returns
        at once with the plan and `job_id`. Follow it with job_status / job_logs / job_wait. The encryption
        key is read from the server's environment (TAO_SKILL_KEY or `key_env`), never passed here."""))

    @tool("job_status", "Job status")
    async def job_status(job_id: str, workspace: str | None = None) -> CallToolResult:
        """Everything recorded about a job: status, exit code, KPIs, paths, plan and spec (`jobs show`)."""
        return await cli(["jobs", "show", job_id], workspace=workspace)

    @tool("job_logs", "Job log")
    async def job_logs(job_id: str, tail: int = 200, workspace: str | None = None) -> CallToolResult:
        """The job's log (last `tail` lines; 0 = all), as `tao-skill jobs logs ID --tail N --json`."""
        return await cli(["jobs", "logs", job_id, "--tail", str(max(0, tail))], workspace=workspace)

    @tool("job_wait", "Wait for a job")
    async def job_wait(job_id: str, timeout_s: float | None = None, workspace: str | None = None) -> CallToolResult:
        """Block until the job finishes (or `timeout_s` passes) and return its record (`jobs wait`)."""
        args = ["jobs", "wait", job_id] + (["--timeout", str(timeout_s)] if timeout_s is not None else [])
        return await cli(args, workspace=workspace)

    @tool("job_cancel", "Cancel a job")
    async def job_cancel(job_id: str, workspace: str | None = None) -> CallToolResult:
        """Stop a pending or running job (its process group gets SIGTERM) and mark it canceled (`jobs cancel`)."""
        return await cli(["jobs", "cancel", job_id], workspace=workspace)

    @tool("jobs_list", "List jobs")
    async def jobs_list(parent: str | None = None, workspace: str | None = None) -> CallToolResult:
        """Jobs of the workspace, oldest first; `parent` keeps only its children (AutoML trials)."""
        return await cli(["jobs", "list", *(["--parent", parent] if parent else [])], workspace=workspace)

    @tool("automl_status", "AutoML study status")
    async def automl_status(job_id: str, workspace: str | None = None) -> CallToolResult:
        """Progress, best trial and every trial of the study of AutoML job `job_id` (`automl status`)."""
        return await cli(["automl", "status", job_id], workspace=workspace)

    return server


_RUN_KEYS = ("overrides", "overrides_json", "spec_file", "train_dataset", "eval_dataset", "inference_dataset",
             "automl_policy", "request", "parent_job", "ptm", "resume", "key_env", "results_dir", "algorithm",
             "max_trials", "epochs_per_trial", "train_sample_count", "params", "metric", "direction", "seed",
             "workspace")


def _pick(scope: dict[str, Any]) -> dict[str, Any]:
    """The plan/run tool arguments out of the tool function's locals."""
    return {k: scope[k] for k in _RUN_KEYS}
