"""Preflight: what a training launch will meet on this machine, before it starts.

Why: a 3D run that dies of out-of-memory after an hour of data loading, or asks for a GPU that is not
there, is cheaper to catch in a second. The report lists the visible GPUs (count, memory, compute
capability) against the spec's GPU keys, the network's own training-memory estimate (the function
``skill_info.yaml preflight.memory_estimator`` names; the runner stays network-agnostic), free disk for
checkpoints, and the skill's GPU guidance (``gpu_guidance``) as warnings, never refusals. Asking for a
GPU index that does not exist is an error finding (the launch would fail), still reported, not raised.

Device facts come from ``nvidia-smi``, else ``torch.cuda`` when torch is already loaded;
``TAO_SKILL_DEVICE_FACTS`` may name a JSON file of facts instead (planning on a login node for the compute
nodes; tests). A plan never imports torch: the estimator runs in a child interpreter, and its answer is
remembered on disk per value of the keys it reads (``preflight.estimate_inputs``; the same cache and
``TAO_SKILL_NO_CACHE`` switch as validation verdicts), so planning again with another learning rate or
epoch count costs nothing. When torch is already loaded (library use, tests) it runs in-process.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tao_skill.jobs import atomic_write
from tao_skill.spec import get_dotted

FACTS_ENV = "TAO_SKILL_DEVICE_FACTS"
_GIB = 1024 ** 3


def _nvidia_smi() -> list[dict[str, Any]] | None:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=index,name,memory.total,memory.free,compute_cap",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    gpus = []
    for line in out.stdout.strip().splitlines():
        idx, name, total, free, cap = (x.strip() for x in line.split(","))
        gpus.append({"index": int(idx), "name": name, "memory_gb": round(float(total) / 1024, 1),
                     "free_gb": round(float(free) / 1024, 1), "compute_capability": cap})
    return gpus


def _torch_gpus() -> list[dict[str, Any]] | None:
    """GPUs as torch sees them, only when torch is already loaded: importing it costs a plan ~1 s."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if not torch.cuda.is_available():
        return []
    gpus = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        gpus.append({"index": i, "name": p.name, "memory_gb": round(p.total_memory / _GIB, 1), "free_gb": None,
                     "compute_capability": f"{p.major}.{p.minor}"})
    return gpus


def device_facts() -> dict[str, Any]:
    """The visible GPUs: ``{"source": ..., "gpus": [{index, name, memory_gb, free_gb, compute_capability}]}``."""
    path = os.environ.get(FACTS_ENV)
    if path:
        data = json.loads(Path(path).read_text())
        return {"source": f"file {path}", "gpus": list(data.get("gpus", []))}
    gpus = _nvidia_smi()
    if gpus is not None:
        return {"source": "nvidia-smi", "gpus": gpus}
    gpus = _torch_gpus()
    return {"source": "torch.cuda" if gpus is not None else "none (nvidia-smi not found)", "gpus": gpus or []}


def _free_disk(path: Path) -> tuple[str, float | None]:
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return str(probe), round(shutil.disk_usage(probe).free / _GIB, 1)
    except OSError:
        return str(probe), None


# argv: module fn world [cache file]; with a cache file the answer is written there atomically (background)
_ESTIMATE_CODE = (
    "import importlib, json, os, sys\n"
    "module, fn, world = sys.argv[1], sys.argv[2], int(sys.argv[3])\n"
    "spec = json.loads(sys.stdin.read())\n"  # first: the caller may block writing a large spec
    # in the background (a result file is given) the estimate yields the CPU to the plan that started it
    # and to whatever the user runs next (it builds the network: seconds of work nobody waits for), and
    # starts building only once the plan has exited (or after 0.5 s, for a long-lived caller): on two vCPUs
    # the torch import beside the plan slowed the plan itself by tens of milliseconds
    "if len(sys.argv) > 4:\n"
    "    import time\n"
    "    if hasattr(os, 'nice'):\n"
    "        os.nice(10)\n"
    "    parent, until = os.getppid(), time.monotonic() + 0.5\n"
    "    while os.getppid() == parent and time.monotonic() < until:\n"
    "        time.sleep(0.01)\n"
    "text = json.dumps(getattr(importlib.import_module(module), fn)(spec, world_size=world), allow_nan=False)\n"
    "if len(sys.argv) > 4:\n"
    "    tmp = sys.argv[4] + '.' + str(os.getpid())\n"
    "    open(tmp, 'w').write(text)\n"
    "    os.replace(tmp, sys.argv[4])\n"
    "else:\n"
    "    print(text)\n")


def _estimate_key(target: str, spec: dict[str, Any], world: int, skill_root: Path | None,
                  inputs: list[str] | None) -> str:
    """Cache key: the estimator, the spec keys it reads (``preflight.estimate_inputs``; else the whole spec
    but its job-specific results_dir), the world size and the size/mtime of the estimator's package files,
    so an edited network invalidates it."""
    from tao_skill import verdicts  # noqa: PLC0415

    module = target.partition(":")[0]
    root = verdicts._package_path(module.split(".")[0], skill_root)  # noqa: SLF001 - same package
    if inputs:
        body: dict[str, Any] = {key: get_dotted(spec, key) for key in inputs}
    else:
        body = {k: v for k, v in spec.items() if k != "results_dir"}
    h = hashlib.sha256()
    for part in (target, str(world), json.dumps(body, sort_keys=True, default=str),
                 *(verdicts._stat_tree(root) if root is not None else [f"missing:{module}"])):  # noqa: SLF001
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


def _child(target: str, world: int, *extra: str) -> tuple[list[str], dict[str, str]]:
    """Command line and environment of an estimator child (this interpreter, this import path)."""
    module, fn = target.split(":")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return [sys.executable, "-c", _ESTIMATE_CODE, module, fn, str(world), *extra], env


def _run_estimator(target: str, spec: dict[str, Any], world: int) -> dict[str, Any]:
    """Call the estimator: in this process when torch is already loaded (a library user, the MCP server,
    tests), else in a child interpreter, because it builds the network (torch), which a plan must not load."""
    if "torch" in sys.modules:
        module, fn = target.split(":")
        return getattr(importlib.import_module(module), fn)(spec, world_size=world)
    argv, env = _child(target, world)
    proc = subprocess.run(argv, input=json.dumps(spec, default=str), capture_output=True, text=True, timeout=300,
                          env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["exit status " + str(proc.returncode)])[-1]
        raise RuntimeError(tail)
    return json.loads(proc.stdout)


def _start_in_background(target: str, spec: dict[str, Any], world: int, cached: Path) -> int:
    """Compute the estimate in a detached child that writes ``cached``; its pid."""
    cached.parent.mkdir(parents=True, exist_ok=True)
    argv, env = _child(target, world, str(cached))
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True, text=True)
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(spec, default=str))
    proc.stdin.close()
    return proc.pid


def _estimate(skill: Any, spec: dict[str, Any], world: int,
              wait: bool = True) -> tuple[dict[str, Any] | None, str | None]:
    """The skill's memory estimate, remembered on disk per configuration (``verdicts.cache_dir``'s sibling).
    ``wait=False`` (plans: run --dry-run, validate): a configuration not seen before is estimated in the
    background (it builds the network: seconds) and the plan says so; the next plan has it."""
    target = ((skill.info.get("preflight") or {}).get("memory_estimator") or "")
    if not target:
        return None, "this skill names no memory estimator (skill_info.yaml preflight.memory_estimator)"
    from tao_skill import verdicts  # noqa: PLC0415

    cached = None
    if verdicts.enabled():
        cached = verdicts.cache_dir().parent / "estimates" / (
            _estimate_key(target, spec, world, getattr(skill, "root", None),
                          (skill.info.get("preflight") or {}).get("estimate_inputs")) + ".json")
        try:
            return json.loads(cached.read_text()), None
        except (OSError, ValueError):
            pass
        if not wait and "torch" not in sys.modules:
            try:
                pid = _start_in_background(target, spec, world, cached)
            except OSError as exc:
                return None, f"no memory estimate: {exc.strerror or exc}"
            return None, (f"memory estimate: being computed in the background (pid {pid}, it builds the network); "
                          "the next plan shows it, `tao-skill preflight` waits for it")
    try:
        result = _run_estimator(target, spec, world)
    except Exception as exc:  # noqa: BLE001 - an estimate is advice: say why it is missing, never fail
        return None, f"no memory estimate: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if cached is not None:
        try:
            atomic_write(cached, json.dumps(result))
        except OSError:
            pass
    return result, None


def preflight(skill: Any, action: str, spec: dict[str, Any], results_dir: Path,
              facts: dict[str, Any] | None = None, wait_for_estimate: bool = True) -> dict[str, Any]:
    """The preflight report of one planned job (see the module docstring); ``wait_for_estimate=False`` keeps a
    plan fast (see :func:`_estimate`)."""
    facts = facts if facts is not None else device_facts()
    info = skill.info
    pf = info.get("preflight") or {}
    guide = info.get("gpu_guidance") or {}
    gpu_key = info.get("gpu_spec_key")
    num_gpus = get_dotted(spec, gpu_key) if gpu_key else None
    gpu_ids = get_dotted(spec, pf["gpu_ids_key"]) if pf.get("gpu_ids_key") else None
    nodes = get_dotted(spec, pf["num_nodes_key"]) if pf.get("num_nodes_key") else 1
    gpus = facts.get("gpus") or []
    findings: list[dict[str, Any]] = []

    def add(level: str, key: str | None, message: str, suggestion: str | None = None) -> None:
        findings.append({"level": level, "key": key, "message": message, "suggestion": suggestion})

    num_gpus = int(num_gpus) if isinstance(num_gpus, int) else 1
    selected = [g for g in gpus if not isinstance(gpu_ids, list) or len(gpu_ids) != num_gpus
                or g["index"] in gpu_ids][:num_gpus]
    if action == "train":
        if not gpus:
            add("warning", None, "no CUDA GPU is visible here: training would run on the CPU (fine for the tiny "
                                 "preset, far too slow for real data)")
        else:
            if num_gpus > len(gpus):
                add("error", gpu_key, f"{gpu_key} is {num_gpus} but {len(gpus)} GPU(s) are visible on this node",
                    f"--override {gpu_key}={len(gpus)}")
            missing = [i for i in (gpu_ids or []) if isinstance(i, int) and i >= len(gpus)]
            if missing and isinstance(gpu_ids, list) and len(gpu_ids) == num_gpus:
                add("error", pf.get("gpu_ids_key"), f"{pf.get('gpu_ids_key')} {gpu_ids} names GPU(s) {missing} that "
                                                    f"do not exist ({len(gpus)} visible: 0..{len(gpus) - 1})")
        if guide.get("min_gpus") and num_gpus * max(int(nodes or 1), 1) < guide["min_gpus"]:
            add("warning", gpu_key, f"the skill's guidance is {guide['min_gpus']} GPUs minimum "
                                    f"({guide.get('recommended_gpus', guide['min_gpus'])} recommended); this run uses "
                                    f"{num_gpus * max(int(nodes or 1), 1)}", f"--override {gpu_key}={guide['min_gpus']}")
        small = [g for g in selected if guide.get("min_vram_gb") and g["memory_gb"] < guide["min_vram_gb"]]
        if small:
            add("warning", None, f"the skill's guidance is {guide['min_vram_gb']} GB per GPU; "
                                 + ", ".join(f"GPU {g['index']} ({g['name']}) has {g['memory_gb']} GB" for g in small)
                                 + (f". {guide['notes'].strip()}" if guide.get("notes") else ""))
    world = num_gpus * max(int(nodes or 1), 1)
    estimate, note = _estimate(skill, spec, world, wait_for_estimate) if action == "train" else (None, None)
    if estimate and selected:
        least = min(selected, key=lambda g: g["memory_gb"])
        if estimate["per_gpu_gb"] > least["memory_gb"]:
            add("warning", None, f"estimated training memory {estimate['per_gpu_gb']} GB per GPU exceeds GPU "
                                 f"{least['index']}'s {least['memory_gb']} GB: expect out-of-memory"
                                 + (f". {guide['notes'].strip()}" if guide.get("notes") else ""))
    where, free = _free_disk(results_dir)
    ckpt_gb = (estimate or {}).get("checkpoint_gb")
    if free is not None and ckpt_gb and free < 2 * ckpt_gb:
        add("warning", None, f"{free} GB free at {where}; a checkpoint is about {ckpt_gb} GB and training keeps "
                             "at least two (latest and periodic)")
    return {"ok": not any(f["level"] == "error" for f in findings), "devices": facts,
            "requested": {"num_gpus": num_gpus, "gpu_ids": gpu_ids, "num_nodes": nodes, "world_size": world},
            "selected_gpus": [g["index"] for g in selected], "estimate": estimate, "estimate_note": note,
            "disk": {"path": where, "free_gb": free, "checkpoint_gb": ckpt_gb}, "findings": findings}


def human(report: dict[str, Any]) -> str:
    """A few lines for the console."""
    d = report["devices"]
    lines = [f"preflight: {len(d['gpus'])} GPU(s) visible ({d['source']})"
             + "".join(f"\n  GPU {g['index']}: {g['name']}, {g['memory_gb']} GB, sm {g.get('compute_capability')}"
                       for g in d["gpus"])]
    r = report["requested"]
    lines.append(f"  requested: {r['num_gpus']} GPU(s) x {r['num_nodes']} node(s)")
    est = report.get("estimate")
    if est:
        lines.append(f"  training memory estimate: {est['per_gpu_gb']} GB per GPU ("
                     + ", ".join(f"{k} {v:.2f} GB" for k, v in est["parts_gb"].items()) + ")")
    elif report.get("estimate_note"):
        lines.append(f"  {report['estimate_note']}")
    disk = report["disk"]
    if disk["free_gb"] is not None:
        lines.append(f"  disk: {disk['free_gb']} GB free at {disk['path']}")
    lines += [f"  {f['level']}: {f['message']}" for f in report["findings"]]
    return "\n".join(lines)
