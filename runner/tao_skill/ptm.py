"""``--ptm FILE``: what kind of pretrained file it is, and which spec keys it fills.

Why here and declarative: the engine refuses some mappings (a 3D checkpoint as ``train.checkpoint_3d`` of
a 2D-stage run), and which keys a file can serve depends on what it holds. The skill lists the kinds in
``skill_info.yaml`` ``ptm_kinds`` (first match wins)::

    ptm_kinds:
      strip_prefixes: [model., module.]
      kinds:
        3d: {match_any: [completion., projector.], keys: {train.checkpoint_2d: {}, train.checkpoint_3d:
             {when: {dataset.enable_3d: true}}}}
        2d: {match_any: [sem_seg_head.], keys: {train.checkpoint_2d: {}}}
        backbone: {match_any: [aggregator.], keys: {model.backbone.pretrained_model_path: {}}}

The kind is read from the tensor names of a ``torch.save`` archive without unpickling anything
(the pickle's opcodes are scanned for strings), or given with ``--ptm-kind``. An encrypted or remote
file needs ``--ptm-kind``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tao_skill.datasets import is_remote, local_path
from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.spec import get_dotted, set_dotted

_MAX_PICKLE = 64 * 1024 * 1024


def kinds(skill_info: dict[str, Any]) -> dict[str, Any]:
    return (skill_info.get("ptm_kinds") or {}).get("kinds") or {}


def tensor_names(path: Path) -> list[str]:
    """Strings of a torch.save archive's pickle (tensor names among them); nothing is executed."""
    import pickletools  # noqa: PLC0415 - only when a --ptm file is read
    import zipfile  # noqa: PLC0415

    names: list[str] = []
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if member.endswith("data.pkl") and zf.getinfo(member).file_size <= _MAX_PICKLE:
                for op, arg, _ in pickletools.genops(zf.read(member)):
                    if isinstance(arg, str) and "UNICODE" in op.name:
                        names.append(arg)
    return names


def detect_kind(skill_info: dict[str, Any], path: Path) -> tuple[str | None, str]:
    """(kind, why) of a local checkpoint file by its tensor names; (None, why) when undecidable."""
    cfg = skill_info.get("ptm_kinds") or {}
    prefixes = tuple(cfg.get("strip_prefixes") or ())
    import zipfile  # noqa: PLC0415

    if not zipfile.is_zipfile(path):
        return None, (f"{path.name} is not a plain torch.save archive (encrypted, or another format): its tensor "
                      "names cannot be read without loading it")
    names = set()
    for name in tensor_names(path):
        changed = True
        while changed and prefixes:
            changed = False
            for pre in prefixes:
                if name.startswith(pre):
                    name, changed = name[len(pre):], True
        names.add(name)
    for kind, spec in kinds(skill_info).items():
        hits = [p for p in spec.get("match_any", []) if any(n.startswith(p) for n in names)]
        if hits:
            return kind, f"its tensors include {hits[0]}*"
    return None, f"none of its tensor names match a known kind ({', '.join(kinds(skill_info))})"


def apply_ptm(skill_info: dict[str, Any], action: str, spec: dict[str, Any], explicit: dict[str, str],
              ptm: str, kind: str | None, taken: set[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Fill the spec keys ``ptm`` serves; returns the plan's mapping entries and the plan's ``ptm`` block
    (kind, why, keys filled, keys skipped and why).

    ``taken``: keys already filled by a parent job (the parent wins). Raises RunnerError (exit 2) when
    the kind cannot be decided or is unknown, or when the file serves no key of this run.
    """
    table = kinds(skill_info)
    if kind is not None and kind not in table:
        raise RunnerError(ErrorItem("--ptm-kind", f"unknown --ptm-kind `{kind}`", expected=sorted(table), got=kind))
    why = f"--ptm-kind {kind}"
    if kind is None:
        if is_remote(ptm):
            raise RunnerError(ErrorItem("--ptm", f"--ptm {ptm} is remote: say what it holds with --ptm-kind",
                                        expected=sorted(table), got=ptm, suggestion="--ptm-kind " + next(iter(table))))
        path = local_path(ptm)
        if not path.is_file():
            raise RunnerError(ErrorItem("--ptm", f"--ptm {ptm} does not exist", expected="a checkpoint file", got=ptm))
        kind, why = detect_kind(skill_info, path)
        if kind is None:
            raise RunnerError(ErrorItem("--ptm", f"cannot tell what --ptm {ptm} holds: {why}", expected=sorted(table),
                                        got=ptm, suggestion="pass --ptm-kind " + "|".join(table)))
        why = f"{kind} file ({why})"
    entries, skipped = [], []
    for key, rule in (table[kind].get("keys") or {}).items():
        rule = rule or {}
        cond = rule.get("when") or {}
        unmet = [f"{k}={v}" for k, v in cond.items() if get_dotted(spec, k) != v]
        if unmet:
            skipped.append(f"{key} (needs {', '.join(unmet)})")
            continue
        if key in taken:
            skipped.append(f"{key} (filled from the parent job)")
            continue
        if key in explicit and get_dotted(spec, key) not in ("", None):
            entries.append({"key": key, "function": "ptm", "value": get_dotted(spec, key),
                            "source": f"explicit ({explicit[key]}) wins over --ptm ({why})", "explicit": True})
            continue
        set_dotted(spec, key, str(local_path(ptm)) if not is_remote(ptm) else ptm)
        entries.append({"key": key, "function": "ptm", "value": get_dotted(spec, key), "source": f"--ptm: {why}",
                        "ptm_kind": kind})
    if not entries:
        raise RunnerError(ErrorItem("--ptm", f"--ptm {ptm} ({why}) serves no key of this {action} run: "
                                             + "; ".join(skipped), got=ptm,
                                    suggestion="for a 3D checkpoint on a 2D-stage run use it as the 2D start "
                                               "(--ptm-kind 2d), or enable the stage it was trained for"))
    return entries, {"uri": ptm, "kind": kind, "why": why, "keys": [e["key"] for e in entries], "skipped": skipped}
