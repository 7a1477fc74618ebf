"""The per-action dataset table: fill data-source keys from one URI each, and require the mandatory ones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tao_skill.errors import ErrorItem, RunnerError
from tao_skill.skills import Skill
from tao_skill.spec import get_dotted, set_dotted

SOURCE_FLAGS = {"train_datasets": "--train-dataset", "eval_dataset": "--eval-dataset",
                "inference_dataset": "--inference-dataset"}
_REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


def is_remote(value: str) -> bool:
    return bool(_REMOTE.match(value)) and not value.lower().startswith("file://")


def local_path(value: str) -> Path:
    return Path(value[7:] if value.lower().startswith("file://") else value).expanduser()


def join_uri(root: str, rel: str) -> str:
    return root.rstrip("/") + ("/" + rel if rel else "")


def fill_sources(skill: Skill, action: str, spec: dict[str, Any], explicit: dict[str, str],
                 sources: dict[str, str | None]) -> list[dict[str, Any]]:
    """Set every key of a given source; user-set keys win. Returns the table rows for the plan."""
    rows = []
    for key, entry in skill.info.get("data_sources", {}).get(action, {}).items():
        uri = sources.get(entry["source"])
        row = {"key": key, "source": entry["source"], "expected": entry["path"] or "(directory)"}
        if uri and not (key in explicit and get_dotted(spec, key)):
            set_dotted(spec, key, join_uri(uri, entry["path"]))
            row["from"] = SOURCE_FLAGS[entry["source"]]
        elif key in explicit:
            row["from"] = explicit[key]
        row["value"] = get_dotted(spec, key)
        rows.append(row)
    return rows


def absolutize_inputs(skill: Skill, action: str, spec: dict[str, Any], keys: set[str]) -> None:
    """Relative local paths the user gave for the action's inputs (``keys``) become absolute: the
    entrypoint runs in the job dir, not where the user typed the command."""
    for key in skill.info.get("actions", {}).get(action, {}).get("inputs", {}):
        if key not in keys:
            continue
        value = get_dotted(spec, key)
        if isinstance(value, str) and value not in ("", "???") and not is_remote(value) \
                and not value.lower().startswith("file://") and not Path(value).expanduser().is_absolute():
            set_dotted(spec, key, str(Path(value).expanduser().resolve()))


UNSET = ("", None, "???")  # empty, absent, or the template's placeholder


def check_inputs(skill: Skill, action: str, spec: dict[str, Any], provided: set[str] | None = None) -> None:
    """Every mandatory input is set, and every local one exists. One error lists all problems.

    Args:
        provided: data-table keys the user set (explicitly or through a dataset flag); a table key
            outside it still holds the template's placeholder and counts as missing. None = trust
            every non-empty value.
    """
    table = skill.info.get("data_sources", {}).get(action, {})
    errors: list[ErrorItem] = []
    for key, meta in skill.info.get("actions", {}).get(action, {}).get("inputs", {}).items():
        value = get_dotted(spec, key)
        if value in UNSET or (provided is not None and key in table and key not in provided):
            alternative_set = any(get_dotted(spec, k) not in UNSET for k in meta.get("unless", ()))
            if meta.get("optional") or alternative_set:
                continue
            if key in table:
                entry = table[key]
                expected = entry["path"] or "the dataset directory"
                errors.append(ErrorItem(key, f"missing data source: set {SOURCE_FLAGS[entry['source']]} "
                                             f"(source {entry['source']}, expects {expected})",
                                        expected=expected, got=value))
            else:
                unless = meta.get("unless", ())
                alternatives = f" (or set {' or '.join(unless)} instead)" if unless else ""
                errors.append(ErrorItem(key, "is required: pass --parent-job ID, --ptm URI or --override "
                                             f"{key}=PATH{alternatives}", expected=meta.get("type", "file"), got=value))
            continue
        if not isinstance(value, str) or is_remote(value):
            continue
        path = local_path(value)
        if not path.exists():
            errors.append(ErrorItem(key, f"local path {path} does not exist", expected=f"an existing {meta['type']}",
                                    got=value))
        elif meta.get("type") == "file" and path.is_dir():
            errors.append(ErrorItem(key, f"{path} is a directory, expected a file", expected="file", got=value))
        elif meta.get("type") == "folder" and path.is_file() and not meta.get("extract_to_parent"):
            errors.append(ErrorItem(key, f"{path} is a file, expected a folder", expected="folder", got=value))
    if errors:
        raise RunnerError(errors)
