"""`tao-skill list` and `tao-skill describe NETWORK [ACTION]`."""

from __future__ import annotations

from pathlib import Path

import click


def _describe(skill, action: str | None) -> dict:
    from tao_skill.spec import leaf_schemas  # noqa: PLC0415

    info = skill.info
    actions = [action] if action else skill.actions
    out = {"ok": True, "network": skill.network, "name": info.get("name"), "description": info.get("description"),
           "skill_dir": str(skill.root), "automl_enabled": info.get("automl_enabled", False),
           "automl_runnable": skill.automl_problem is None, "automl_status": skill.automl_problem or "runnable",
           "monitoring": info.get("monitoring"), "shorthand_keys": info.get("spec_shorthand_keys", {}),
           "actions": {}}
    for name in actions:
        inputs = info["actions"][name].get("inputs", {})
        table = info.get("data_sources", {}).get(name, {})
        try:
            schema = skill.load_schema(name)
            leaves = leaf_schemas(schema)
            popular = {k: leaves[k].get("default") for k in schema.get("x-tao-popular", []) if k in leaves}
        except Exception:  # noqa: BLE001 - describe still works without generated schemas
            popular = {}
        keys = _action_keys(skill, name) if action else None
        out["actions"][name] = {
            "command": info["actions"][name]["command"],
            "data_sources": [{"key": k, "source": v["source"], "expected": v["path"] or "(directory)",
                              "mandatory": not inputs.get(k, {}).get("optional", False)} for k, v in table.items()],
            "inputs": inputs,
            "spec_params": info.get("spec_params", {}).get(name, {}),
            "popular": popular,
            "routes_to_automl": name == "train" and info.get("automl_enabled", False),
        }
        if keys is not None:
            out["actions"][name]["keys"] = keys
    return out


_KEY_FACTS = ("type", "default", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "description")


def _action_keys(skill, action: str) -> dict:
    """Every spec key of one action (its own section first), with type, default, allowed values and meaning;
    a key with a spec_params mapping or a data source says which flag fills it."""
    from tao_skill.spec import leaf_schemas  # noqa: PLC0415

    try:
        schema, _ = skill.schema_or_generated(action)
    except Exception:  # noqa: BLE001 - describe still works without generated schemas
        return {}
    info = skill.info
    filled = {k: f"data source {v['source']}" for k, v in info.get("data_sources", {}).get(action, {}).items()}
    for k, fn in info.get("spec_params", {}).get(action, {}).items():
        filled[k] = f"mapping {fn if isinstance(fn, str) else fn.get('function')}"
    shorthand = {v: k for k, v in info.get("spec_shorthand_keys", {}).items()}
    leaves = leaf_schemas(schema)
    own = [k for k in leaves if k.split(".")[0] == action]
    order = own + [k for k in leaves if k not in own]
    out = {}
    for key in order:
        leaf = leaves[key]
        entry = {f: leaf[f] for f in _KEY_FACTS if f in leaf}
        if isinstance(entry.get("type"), list):
            entry["type"] = "|".join(entry["type"])
        if leaf.get("x-tao-secret") or leaf.get("writeOnly"):
            entry["secret"] = True
            entry.pop("default", None)
        if key in filled:
            entry["filled_by"] = filled[key]
        if key in shorthand:
            entry["shorthand"] = shorthand[key]
        out[key] = entry
    return out


def _human(doc: dict) -> str:
    lines = [f"{doc['network']} ({doc['name']}): {doc['description']}",
             f"actions: {', '.join(doc['actions'])}",
             f"AutoML: {'enabled' if doc['automl_enabled'] else 'disabled'}, {doc['automl_status']}"]
    for name, a in doc["actions"].items():
        lines.append(f"\n[{name}]  {' '.join(a['command'])}")
        table = {d["key"] for d in a["data_sources"]}
        for d in a["data_sources"]:
            flag = "--" + d["source"].rstrip("s").replace("_", "-")
            lines.append(f"  data   {d['key']:<40} {flag:<20} {d['expected']}{'' if d['mandatory'] else ' (optional)'}")
        for key, meta in a["inputs"].items():
            if key not in table:
                lines.append(f"  input  {key:<40} {meta.get('type', 'file')}{' (optional)' if meta.get('optional') else ''}")
        for key, fn in a["spec_params"].items():
            fn_name = fn if isinstance(fn, str) else fn.get("function")
            lines.append(f"  maps   {key:<40} <- {fn_name}")
        for k, v in a["popular"].items():
            lines.append(f"  param  {k:<40} default {v!r}")
        if a.get("keys"):
            lines.append(f"  keys of `{name}` ({len(a['keys'])}; --json for types and meanings):")
            for k, meta in a["keys"].items():
                allowed = ", ".join(map(str, meta["enum"])) if "enum" in meta else ""
                lines.append(f"    {k:<52} {meta.get('type', ''):<8} {meta.get('default', '')!r:<10} {allowed}")
    lines.append("\nshorthand: " + ", ".join(f"{k}={v}" for k, v in doc["shorthand_keys"].items()))
    return "\n".join(lines)


def register(cli: click.Group) -> None:
    @cli.command("list")
    @click.option("--skill-dir", type=click.Path(path_type=Path))
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def list_cmd(app, skill_dir: Path | None, json_mode: bool) -> int:
        """List the skills (networks) in the bank and in --skill-dir."""
        from tao_skill.skills import discover  # noqa: PLC0415

        app.json_mode = json_mode
        skills = discover(skill_dir)
        rows = [{"network": s.network, "name": s.info.get("name"), "actions": s.actions,
                 "automl_enabled": s.info.get("automl_enabled", False), "skill_dir": str(s.root)}
                for s in skills.values()]
        app.emit({"ok": True, "skills": rows},
                            "\n".join(f"{r['network']:<16} {', '.join(r['actions'])}" for r in rows))
        return 0

    @cli.command("describe")
    @click.argument("network")
    @click.argument("action", required=False)
    @click.option("--skill-dir", type=click.Path(path_type=Path))
    @click.option("--json", "json_mode", is_flag=True, help="Print one JSON document.")
    @click.pass_obj
    def describe_cmd(app, network: str, action: str | None, skill_dir: Path | None, json_mode: bool) -> int:
        """Actions, mandatory data sources, popular parameters, shorthand keys and AutoML status."""
        from tao_skill.skills import get_skill, require_action  # noqa: PLC0415

        app.json_mode = json_mode
        skill = get_skill(network, skill_dir)
        if action:
            require_action(skill, action)
        doc = _describe(skill, action)
        app.emit(doc, _human(doc))
        return 0
