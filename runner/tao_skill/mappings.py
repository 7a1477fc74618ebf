"""spec_params mappings: fill spec keys from the job context (results dir, key, parent job, PTM, resume).

Each applied mapping is recorded with its source so the plan explains every value the runner chose;
a value the user set explicitly always wins and the plan says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tao_skill.artifacts import choose_checkpoint, find_checkpoints
from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.jobs import Job
from tao_skill.skills import Skill
from tao_skill.spec import REDACTED, get_dotted, set_dotted

DEFAULT_KEY_ENV = "TAO_SKILL_KEY"


class MissingArtifact(RunnerError):
    """The parent job has no file for a parent_model mapping (optional mappings may skip it)."""


@dataclass
class MappingContext:
    results_dir: Path
    parent: Job | None = None
    ptm: str | None = None
    resume: Job | None = None
    key_env: str | None = None


def _parent_artifact(skill: Skill, parent: Job, artifact: str | None, *, flag: str = "--parent-job",
                     latest: bool = False) -> tuple[str, str]:
    """The file a child job takes from ``parent``'s results, and a one-line reason.

    ``artifact`` (a glob) picks files such as exported ONNX models; otherwise a checkpoint is chosen:
    the best by the monitored KPI when status.json has it, else the latest by epoch/step (``latest``
    forces the latest, which is what resuming needs).
    """
    what = "resumed job" if flag == "--resume" else "parent job"
    if parent.network != skill.network:
        raise RunnerError(ErrorItem(flag, f"{what} {parent.id} is a `{parent.network}` job; `{skill.network}` cannot "
                                          "use its outputs", expected=skill.network, got=parent.network))
    if flag == "--parent-job":
        if parent.status in ("failed", "canceled"):
            raise RunnerError(ErrorItem(flag, f"parent job {parent.id} {parent.status}; it has no usable output "
                                              f"(see `tao-skill jobs logs {parent.id}`)",
                                        expected="a finished (done) job", got=parent.status))
        if parent.status in ("pending", "running"):
            raise RunnerError(ErrorItem(flag, f"parent job {parent.id} is still {parent.status}; wait for it to finish",
                                        expected="a finished (done) job", got=parent.status))
    results = Path(parent.results_dir)
    if artifact:
        files = find_checkpoints(results, artifact)
        if not files:
            raise MissingArtifact(ErrorItem(flag, f"{what} {parent.id} has no file matching {artifact} in {results}",
                                        expected=artifact, got=parent.id))
        return str(files[-1]), f"{what} {parent.id}: {files[-1].name} (matches {artifact})"
    arts = skill.info.get("artifacts", {})
    mon = skill.info.get("monitoring", {})
    pattern = arts.get("checkpoint_glob", "*.pth")
    if latest:
        ckpts = find_checkpoints(results, pattern)
        ckpt, why = (ckpts[-1], "latest checkpoint by epoch/step") if ckpts else \
            (None, f"no file matching {pattern} under {results}")
    else:
        ckpt, why = choose_checkpoint(results, pattern, mon.get("metric", ""), mon.get("direction", "maximize"),
                                      arts.get("status_file", "status.json"))
    if ckpt is None:
        raise MissingArtifact(ErrorItem(flag, f"{what} {parent.id} has no checkpoint ({why})", expected=pattern,
                                    got=parent.id))
    return str(ckpt), f"{what} {parent.id}: {Path(ckpt).name}, {why}"


def apply_mappings(skill: Skill, action: str, spec: dict[str, Any], explicit: dict[str, str],
                   ctx: MappingContext) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Apply the action's spec_params to ``spec`` in place.

    Returns the plan's ``mappings`` entries and the secret environment for the child process.
    """
    entries: list[dict[str, Any]] = []
    secret_env: dict[str, str] = {}
    parent_found, parent_missing = False, []
    for key, spec_fn in skill.info.get("spec_params", {}).get(action, {}).items():
        fn = spec_fn if isinstance(spec_fn, str) else spec_fn["function"]
        opts = {} if isinstance(spec_fn, str) else spec_fn
        value: Any = None
        source = ""
        if fn == "output_dir":
            value = str(ctx.results_dir / opts["subdir"]) if opts.get("subdir") else str(ctx.results_dir)
            source = "the job's results dir" + (" (reused from the resumed job)" if ctx.resume else "")
        elif fn == "key":
            var = ctx.key_env or DEFAULT_KEY_ENV
            user_value = get_dotted(spec, key)
            if key in explicit and user_value not in ("", None, REDACTED):
                secret = user_value
            else:
                secret = os.environ.get(var)
                if not secret and ctx.key_env:
                    raise RunnerError(ErrorItem("--key-env", f"environment variable {var} is not set or empty; export "
                                                             f"the encryption key in it first", got=var))
            if secret not in ("", None):
                secret_env["TAO_SKILL_ENCRYPTION_KEY"] = str(secret)  # YAML may read a numeric key as a number
                set_dotted(spec, key, REDACTED)
                entries.append({"key": key, "function": fn, "value": REDACTED,
                                "source": explicit.get(key) or f"environment variable {var}"})
            continue
        elif fn in ("parent_model", "parent_model_or_ptm"):
            if ctx.parent is not None:
                try:
                    value, source = _parent_artifact(skill, ctx.parent, opts.get("artifact"))
                except MissingArtifact as miss:
                    if not opts.get("optional"):
                        raise
                    parent_missing.append(miss)
                    continue
                parent_found = True
                if opts.get("folder"):
                    value, source = str(Path(value).parent), f"{source}, its folder"
            elif fn == "parent_model_or_ptm" and ctx.ptm:
                value, source = ctx.ptm, "--ptm"
        elif fn == "ptm":
            if ctx.ptm:
                value, source = ctx.ptm, "--ptm"
        elif fn == "resume_model":
            if ctx.resume is not None:
                value, source = _parent_artifact(skill, ctx.resume, None, flag="--resume", latest=True)
        elif fn in ("create_onnx_file_2d", "create_onnx_file_3d"):
            name = "model_2d.onnx" if fn.endswith("2d") else "model_3d.onnx"
            value, source = str(ctx.results_dir / name), "created in the job's results dir"
        else:  # pragma: no cover - skill_info validation rejects unknown functions
            raise RunnerError(ErrorItem(key, f"unknown spec_params function `{fn}`"))
        if value is None:
            continue
        if key in explicit and get_dotted(spec, key) not in ("", None):
            entries.append({"key": key, "function": fn, "value": get_dotted(spec, key),
                            "source": f"explicit ({explicit[key]}) wins over {source}", "explicit": True})
            continue
        set_dotted(spec, key, value)
        entries.append({"key": key, "function": fn, "value": value, "source": source})
    if parent_missing and not parent_found:
        raise parent_missing[0]  # the parent gave none of the model forms this action takes
    return entries, secret_env
