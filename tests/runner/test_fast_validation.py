"""The fast acceptance path (tao_skill.validation.fast_accepts: the compiled validator of
schemas/<action>_validator.py and the config's rules on a plain dict) gives the full path's verdict
(jsonschema Draft 2020-12, then the pydantic config) on a broad corpus: every spec template, NVIDIA-shaped
specs, the specs the eval calls and the hostile overrides bring to validation, and seeded random
mutations of valid specs (wrong types, out-of-range numbers, bad enums, unknown keys, nulls, 1.0 for an
integer, missing keys, cross-field violations). The fast path may only accept, so a disagreement where
it accepts is a wrong plan; one where it refuses is lost speed, and is not expected on this corpus either.

Also: a plan of a spec never seen before imports neither jsonschema nor pydantic; `schemas check`
finds a stale or hand-edited compiled validator; a skill without the compiled validator, or without a
rules entry, is validated by the full path with the same verdicts and messages.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tao_skill import validation
from tao_skill.skills import get_skill
from tao_skill.spec import leaf_schemas
from tao_skill.validation import config_errors, fast_accepts, schema_errors
from tao_skill.verdicts import schema_digest
from tests.evals.test_skill_evals import CASES as EVAL_CASES
from tests.foundation.test_nv_specs import NULLABLE, NV_DEFAULTS, whole_experiment_spec
from tests.runner.test_hostile import OVERRIDE_CASES

REPO = Path(__file__).resolve().parents[2]
SKILL = get_skill("nvpanoptix3d")
ENTRY = SKILL.info["config_entry"]
ACTIONS = list(SKILL.info["schema_actions"])
SCHEMAS = {a: SKILL.load_schema(a) for a in ACTIONS}
DIGESTS = {a: schema_digest(s) for a, s in SCHEMAS.items()}
MUTATIONS_PER_SPEC = 90


def full_ok(action: str, spec: dict) -> bool:
    spec = copy.deepcopy(spec)
    return not schema_errors(SCHEMAS[action], spec) and not config_errors(ENTRY, action, spec, SKILL.root)


def fast_ok(action: str, spec: dict, skill_root: Path = SKILL.root) -> bool:
    return fast_accepts(SCHEMAS[action], copy.deepcopy(spec), entry=ENTRY, action=action, skill_root=skill_root,
                        schema_sha256=DIGESTS[action])


# -- specs that reach validation through plans ---------------------------------------------------------

class _Reached(BaseException):
    """Stops a plan right after it hands its spec to validation (no preflight, no estimator child)."""


def _record_plans(calls: list[list[str]], monkeypatch) -> list[tuple[str, dict]]:
    """(action, spec) of every call that reaches `validate`, run in-process through the CLI."""
    import tao_skill.plan as plan  # noqa: PLC0415

    seen: list[tuple[str, dict]] = []

    def record(schema, spec, *, entry, action, skill_root=None):
        seen.append((action, copy.deepcopy(spec)))
        raise _Reached

    monkeypatch.setattr(plan, "validate", record)
    from tao_skill.cli import main  # noqa: PLC0415

    for argv in calls:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            with contextlib.suppress(_Reached, SystemExit):
                main(argv)
    return seen


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, eval_world) -> list[tuple[str, str, dict]]:
    """(origin, action, spec) of every spec the agreement test judges, mutations excluded."""
    root = tmp_path_factory.mktemp("fastcorpus")
    out: list[tuple[str, str, dict]] = []
    for action in ACTIONS:
        out.append((f"template:{action}", action, SKILL.load_template(action)))
    if NV_DEFAULTS.is_file():
        defaults = yaml.safe_load(NV_DEFAULTS.read_text())
        for action in ACTIONS:
            out.append((f"nv-defaults:{action}", action,
                        {k: v for k, v in defaults.items() if k in SCHEMAS[action]["properties"]}))
    for action, keys in NULLABLE.items():
        spec: dict = {}
        for key in NULLABLE["train"] + (keys if action != "train" else []):
            *parents, last = key.split(".")
            node = spec
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = None
        out.append((f"nv-nulls:{action}", action, spec))
    whole = whole_experiment_spec()
    for action in ACTIONS:
        out.append((f"nv-whole:{action}", action, {k: v for k, v in whole.items() if k in SCHEMAS[action]["properties"]}))

    world = eval_world(root / "evals")
    calls = []
    for skill, case in EVAL_CASES:
        if skill != "tao-train-nvpanoptix3d":
            continue
        ctx = {"question": case["question"], **world}
        calls.append([str(a).format(**ctx) for a in case["tao_skill"]["call"]]
                     + ["--workspace", world["workspace"], "--dry-run", "--json"])
    base = ["run", "nvpanoptix3d", "train", "--train-dataset", world["data"], "--eval-dataset", world["data"],
            "--automl-policy", "off", "--workspace", world["workspace"], "--dry-run", "--json"]
    for values, _ in OVERRIDE_CASES.values():
        calls.append([*base, *[a for v in values for a in ("--override", v.replace("train.sleep_s", "train.num_epochs"))]])
    nv_file = root / "nv_whole.yaml"
    nv_file.write_text(yaml.safe_dump(whole))
    calls.append([*base, "--spec", str(nv_file)])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TAO_SKILL_CACHE", str(root / "cache"))
        for i, (action, spec) in enumerate(_record_plans(calls, mp)):
            out.append((f"plan:{i}", action, spec))
    return out


# -- mutations -----------------------------------------------------------------------------------------

def _types(leaf: dict) -> list[str]:
    kind = leaf.get("type")
    return [kind] if isinstance(kind, str) else list(kind or [])


def _candidates(leaf: dict, value, rng: random.Random) -> list:
    """Values likely to sit on a boundary between valid and invalid for this leaf."""
    kinds = _types(leaf)
    out: list = ["x", "", True, False, 0, 1, -1, 0.5, 1.0, 7, None, [], {}, [1], ["a"], {"k": 1}]
    if isinstance(value, bool):
        out += [not value, 1, "true"]
    elif isinstance(value, int):
        out += [value + 1, value - 1, value * 2, float(value), -value, str(value)]
    elif isinstance(value, float):
        out += [value * 2, value / 2, -value, 0.0, int(value), float(int(value) + 1)]
    elif isinstance(value, str):
        out += [value.upper(), value.lower(), value + "x", value.capitalize()]
    elif isinstance(value, list):
        out += [value[:-1], value + value[-1:], list(reversed(value)), [*value, "x"], tuple(value),
                [float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value],
                [v * 0 if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value]]
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if bound in leaf:
            b = leaf[bound]
            out += [b, b - 1, b + 1, b - 0.5, b + 0.5]
    for option in leaf.get("enum", []):
        out += [option, str(option).upper(), str(option).lower()]
    if "integer" in kinds or "number" in kinds:
        out += [10 ** 6, -(10 ** 6)]
    rng.shuffle(out)
    return out


def _set(tree: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    node = tree
    for p in parents:
        if not isinstance(node.get(p), dict):
            node[p] = {}
        node = node[p]
    node[last] = value


def _drop(tree: dict, dotted: str) -> None:
    *parents, last = dotted.split(".")
    node = tree
    for p in parents:
        node = node.get(p)
        if not isinstance(node, dict):
            return
    node.pop(last, None)


CROSS_FIELD = [  # (dotted key, value) pairs that touch rules.py's relations, valid and invalid ones
    [("dataset.name", "matterport"), ("dataset.downsample_factor", 1)],
    [("dataset.name", "matterport"), ("dataset.downsample_factor", 2)],
    [("dataset.name", "front3d"), ("dataset.downsample_factor", 2)],
    [("dataset.depth_min", 5.0), ("dataset.depth_max", 5.0)],
    [("dataset.depth_min", 0.5), ("dataset.depth_max", 9.0)],
    [("dataset.target_size", [0, 240])],
    [("dataset.truncation_range", [3.0, 1.0])],
    [("model.frustum3d.frustum_dims", 512), ("model.frustum3d.grid_dimensions", 256)],
    [("dataset.num_thing_classes", 200)],
    [("model.mask_former.importance_sample_ratio", 0.5), ("model.mask_former.train_num_points", 0)],
    [("train.distributed_strategy", "fsdp")],
    [("train.distributed_strategy", "fsdp"), ("train.num_gpus", 2), ("train.gpu_ids", [0, 1])],
    [("train.distributed_strategy", "fsdp"), ("train.num_nodes", 2)],
    [("train.num_gpus", 2)],
    [("train.num_gpus", 2), ("train.gpu_ids", [0, 1])],
    [("train.num_gpus", 2), ("train.gpu_ids", None)],
    [("train.gpu_ids", [1, 1])],
    [("train.gpu_ids", [-1])],
    [("train.optim.milestones", [5, 3])],
    [("train.optim.milestones", [0, 3])],
    [("train.optim.milestones", [3, 5])],
    [("train.optim.milestones", [3.0, 5.0])],
]


def mutations(action: str, spec: dict, seed: int) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    leaves = sorted(leaf_schemas(SCHEMAS[action]).items())
    sections = [k for k, v in SCHEMAS[action]["properties"].items() if v.get("type") == "object"]
    out = []
    for n in range(MUTATIONS_PER_SPEC):
        mutated = copy.deepcopy(spec)
        kind = rng.choice(["value", "value", "value", "value", "drop", "unknown", "cross", "two"])
        if kind == "cross":
            changes = rng.choice(CROSS_FIELD)
            for key, value in changes:
                _set(mutated, key, copy.deepcopy(value))
            label = f"cross:{changes}"
        elif kind == "drop":
            key = rng.choice([k for k, _ in leaves] + sections)
            _drop(mutated, key)
            label = f"drop:{key}"
        elif kind == "unknown":
            where = rng.choice(["", *sections])
            _set(mutated, f"{where}.bogus_key" if where else "bogus_key", 1)
            label = f"unknown:{where}"
        else:
            label = ""
            for _ in range(2 if kind == "two" else 1):
                key, leaf = rng.choice(leaves)
                node = mutated
                for part in key.split("."):
                    node = node.get(part) if isinstance(node, dict) else None
                value = rng.choice(_candidates(leaf, node if node is not None else leaf.get("default"), rng))
                _set(mutated, key, copy.deepcopy(value))
                label += f"{key}={value!r};"
        out.append((f"mut{n}:{label}", mutated))
    return out


def test_fast_and_full_paths_agree_on_the_corpus(corpus):
    origins = {o.split(":")[0] for o, _, _ in corpus}
    assert {"template", "nv-whole", "nv-nulls", "plan"} <= origins, origins
    assert sum(o.startswith("plan:") for o, _, _ in corpus) >= 30  # the eval calls and hostile overrides arrived
    judged, disagree, accepted, refused = 0, [], 0, 0
    bases = [(o, a, s) for o, a, s in corpus]
    for i, (origin, action, spec) in enumerate(bases):
        cases = [(origin, spec)]
        if full_ok(action, spec) and (origin.startswith(("template", "nv-whole")) or i % 6 == 0):
            cases += [(f"{origin}/{label}", m) for label, m in mutations(action, spec, seed=21 + i)]
        for label, case in cases:
            full, fast = full_ok(action, case), fast_ok(action, case)
            judged += 1
            accepted += full
            refused += not full
            if full != fast:
                disagree.append(f"{action} {label}: full={full} fast={fast}")
    assert not disagree, f"{len(disagree)} of {judged} disagree:\n" + "\n".join(disagree[:20])
    assert judged >= 1000 and accepted >= 150 and refused >= 400, (judged, accepted, refused)


def test_specs_of_every_origin_are_accepted_by_the_fast_path(corpus):
    """The corpus' valid specs are accepted without the full path (else the fast path would buy nothing)."""
    valid = [(o, a) for o, a, s in corpus if full_ok(a, s)]
    assert {o.split(":")[0] for o, _ in valid} >= {"template", "nv-whole", "nv-nulls", "plan"}
    assert all(fast_ok(a, s) for o, a, s in corpus if (o, a) in valid)


def test_doubtful_values_are_left_to_the_full_path(monkeypatch):
    monkeypatch.setenv("TAO_SKILL_NO_CACHE", "1")
    spec = SKILL.load_template("train")
    for key, value in (("train.num_epochs", 10.0), ("train.optim.lr", float("nan")), ("dataset.target_size", (640, 480))):
        case = copy.deepcopy(spec)
        _set(case, key, value)
        assert not fast_ok("train", case), key
    errors = validation.validate(SCHEMAS["train"], {**spec, "train": {**spec["train"], "num_epochs": 10.0}},
                                 entry=ENTRY, action="train", skill_root=SKILL.root)
    assert [e.key for e in errors] == ["train.num_epochs"]  # the full path's words, unchanged


# -- the plan path, drift, and skills without the fast path -----------------------------------------------

NEVER_SEEN_PLAN = (
    "import io, json, sys, contextlib\n"
    "from tao_skill.cli import main\n"
    "buf = io.StringIO()\n"
    "with contextlib.redirect_stdout(buf):\n"
    "    rc = main(['run', 'nvpanoptix3d', 'train', '--train-dataset', 's3://bkt/t', '--eval-dataset', 's3://bkt/e',"
    " '--override', 'train.optim.lr=' + sys.argv[1], '--dry-run', '--json', '--workspace', sys.argv[2]])\n"
    "doc = json.loads(buf.getvalue())\n"
    "print(json.dumps({'rc': rc, 'ok': doc.get('ok', rc == 0), 'errors': doc.get('errors'),"
    " 'loaded': sorted(m for m in ('jsonschema', 'pydantic', 'pydantic_core', 'fastjsonschema', 'torch') if m in sys.modules)}))\n"
)


def _never_seen_plan(tmp_path: Path, lr: str) -> dict:
    env = {**os.environ, "TAO_SKILL_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", NEVER_SEEN_PLAN, lr, str(tmp_path / "ws")], capture_output=True,
                          text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_never_seen_valid_spec_is_planned_without_jsonschema_or_pydantic(tmp_path):
    lr = f"0.000{random.Random(time.time_ns()).randint(100, 999)}"  # a spec no cache has seen
    res = _never_seen_plan(tmp_path, lr)
    assert res["rc"] == 0 and not res["errors"], res
    assert res["loaded"] == [], res
    assert len(list((tmp_path / "cache" / "verdicts").iterdir())) == 1  # remembered as before
    bad = _never_seen_plan(tmp_path, "-1")  # refused: the full path words it
    assert bad["rc"] == 2 and [e["key"] for e in bad["errors"]] == ["train.optim.lr"], bad
    assert "jsonschema" in bad["loaded"]


def _skill_copy(tmp_path: Path) -> Path:
    skill = tmp_path / "skill"
    for part in ("schemas", "references"):
        shutil.copytree(REPO / part, skill / part, ignore=shutil.ignore_patterns("__pycache__"))
    return skill


def test_schemas_check_finds_a_stale_or_edited_compiled_validator(tmp_path):
    from tao_skill.schemagen import check, generate  # noqa: PLC0415

    skill = _skill_copy(tmp_path)
    target = skill / "schemas" / "train_validator.py"
    assert not [d for d in check(skill) if "_validator.py" in d]
    text = target.read_text()
    target.write_text(text.replace(DIGESTS["train"], "0" * 64))  # compiled from another schema
    diff = "".join(check(skill))
    assert "schemas/train_validator.py is stale: schema_sha256" in diff and len(diff) < 1000
    target.write_text(text.replace("must be object", "must be a mapping", 1))  # a hand edit under a true stamp
    assert "schemas/train_validator.py is stale: its code differs" in "".join(check(skill))
    import re  # noqa: PLC0415

    other_compiler = re.sub(r"'fastjsonschema': '[^']*'", "'fastjsonschema': '0.0.1'", text, count=1)
    target.write_text(other_compiler)  # another fastjsonschema compiled the same schema: not drift
    assert other_compiler != text and not [d for d in check(skill) if "_validator.py" in d]
    target.unlink()
    assert "schemas/train_validator.py is missing" in "".join(check(skill))
    generate(skill)
    assert target.read_text() == text and not [d for d in check(skill) if "_validator.py" in d]


def test_a_stale_compiled_validator_is_never_used(tmp_path):
    skill = _skill_copy(tmp_path)
    spec = SKILL.load_template("train")
    assert fast_ok("train", spec, skill_root=skill)
    target = skill / "schemas" / "train_validator.py"
    target.write_text(target.read_text().replace(f"SCHEMA_SHA256 = '{DIGESTS['train']}'", "SCHEMA_SHA256 = 'old'"))
    assert not fast_ok("train", spec, skill_root=skill)


def test_a_skill_without_the_fast_path_is_validated_by_the_full_path(tmp_path, monkeypatch):
    """No compiled validator (or no rules entry in it): the same verdicts and the same messages."""
    monkeypatch.setenv("TAO_SKILL_NO_CACHE", "1")
    skill = _skill_copy(tmp_path)
    (skill / "schemas" / "train_validator.py").unlink()
    spec = SKILL.load_template("train")
    assert not fast_ok("train", spec, skill_root=skill)
    bad = copy.deepcopy(spec)
    bad["train"]["distributed_strategy"] = "fsdp"
    bad["dataset"]["name"] = "Front3D"
    for root in (skill, SKILL.root):
        assert validation.validate(SCHEMAS["train"], spec, entry=ENTRY, action="train", skill_root=root) == []
    got = [validation.validate(SCHEMAS["train"], bad, entry=ENTRY, action="train", skill_root=root)
           for root in (skill, SKILL.root)]
    assert got[0] == got[1] and [e.key for e in got[0]] == ["dataset.name"] and got[0][0].suggestion == "front3d"
    rules_less = skill / "schemas" / "evaluate_validator.py"
    rules_less.write_text(rules_less.read_text().replace(
        "RULES_ENTRY = 'nvpanoptix3d.config.rules:check_spec'", "RULES_ENTRY = None"))
    assert not fast_ok("evaluate", SKILL.load_template("evaluate"), skill_root=skill)  # the config has rules


def test_schemas_whose_keywords_differ_in_draft_07_get_no_compiled_validator():
    from tao_skill.schemagen.compiled import build_module, unsupported_keywords  # noqa: PLC0415

    base = {"type": "object", "properties": {"a": {"type": "integer", "minimum": 0}}, "additionalProperties": False}
    assert unsupported_keywords(base) == [] and "\nvalidate = validate" in build_module(base, "x", None)
    module: dict = {}
    exec(build_module(base, "x", None), module)  # noqa: S102 - the generated module, standalone
    module["validate"]({"a": 1})
    for bad in ({"a": -1}, {"a": "1"}, {"b": 1}, {"a": True}):
        with pytest.raises(ValueError):
            module["validate"](bad)
    for extra, where in (({"$defs": {"n": {"type": "integer"}}}, "<root>: $defs"),
                         ({"unevaluatedProperties": False}, "<root>: unevaluatedProperties"),
                         ({"properties": {"a": {"prefixItems": [{"type": "integer"}]}}}, "a: prefixItems"),
                         ({"properties": {"a": {"items": [{"type": "integer"}]}}}, "a: items (array form)"),
                         ({"properties": {"a": {"$ref": "#/$defs/n"}}}, "a: $ref")):
        schema = {**base, **extra}
        assert where in unsupported_keywords(schema) and build_module(schema, "x", None) is None


def test_the_config_enforces_nothing_beyond_the_schema_and_the_rules_entry():
    """What `rules_entry` promises (skill_info.py): a new pydantic validator in the config would be skipped
    by the fast path, so adding one must come with its rule in rules.py (or without a rules_entry)."""
    import typing  # noqa: PLC0415

    from pydantic import BaseModel  # noqa: PLC0415

    from nvpanoptix3d.config import action_models  # noqa: PLC0415

    found: set[tuple[str, str]] = set()
    seen: set[type] = set()

    def walk(cls: type) -> None:
        if cls in seen:
            return
        seen.add(cls)
        decorators = cls.__pydantic_decorators__
        for kind in ("validators", "field_validators", "root_validators", "model_validators"):
            found.update((kind, name) for name in getattr(decorators, kind))
        for field in cls.model_fields.values():
            for t in (field.annotation, *typing.get_args(field.annotation)):
                if isinstance(t, type) and issubclass(t, BaseModel):
                    walk(t)

    for model in action_models().values():
        walk(model)
    assert len(seen) > 10
    assert found == {("model_validators", "_null_means_default"), ("model_validators", "_cross_field_rules")}
