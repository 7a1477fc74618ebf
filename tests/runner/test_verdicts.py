"""Remembered validation verdicts (tao_skill.verdicts): a spec that passed is not validated again, so a
second plan imports neither jsonschema nor the config; any change to the spec, the schema or the config
source validates again; failing specs are never remembered; TAO_SKILL_NO_CACHE=1 turns it off."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = ("import json, sys; from tao_skill.plan import prepare, RunRequest; from tao_skill.errors import RunnerError\n"
         "a = json.loads(sys.argv[1])\n"
         "try:\n"
         "    prepare(RunRequest('toyseg', 'train', skill_dir=a['skill'], train_dataset=a['data'], eval_dataset=a['data'],"
         " automl_policy='off', overrides=a['overrides'], workspace=a['ws'])); ok = True\n"
         "except RunnerError as exc:\n"
         "    ok = [e.key for e in exc.errors]\n"
         "print(json.dumps({'ok': ok, 'jsonschema': 'jsonschema' in sys.modules, 'config': 'toy_config' in sys.modules}))")


def _plan(toy, cache, *overrides, env=None):
    args = json.dumps({"skill": str(toy["skill"]), "data": str(toy["data"]), "ws": str(toy["ws"]),
                       "overrides": list(overrides)})
    proc = subprocess.run([sys.executable, "-c", PROBE, args], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "TAO_SKILL_CACHE": str(cache), **(env or {})})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_second_plan_skips_the_validators_and_changes_validate_again(toy, tmp_path):
    cache = tmp_path / "cache"
    first = _plan(toy, cache)
    assert first == {"ok": True, "jsonschema": True, "config": True}
    assert len(list((cache / "verdicts").iterdir())) == 1
    again = _plan(toy, cache)  # another job id, same spec
    assert again == {"ok": True, "jsonschema": False, "config": False}
    other = _plan(toy, cache, "train.epochs=4")  # another spec: validated, then remembered too
    assert other["ok"] is True and other["jsonschema"] is True
    assert len(list((cache / "verdicts").iterdir())) == 2


def test_failing_specs_are_not_remembered(toy, tmp_path):
    cache = tmp_path / "cache"
    for _ in range(2):
        res = _plan(toy, cache, "train.epochs=0")
        assert res["ok"] == ["train.epochs"] and res["jsonschema"] is True
    assert not (cache / "verdicts").exists() or not list((cache / "verdicts").iterdir())


def test_a_config_change_validates_again(toy, tmp_path):
    """The verdict depends on the config source: a new rule there is enforced on the very next plan."""
    cache = tmp_path / "cache"
    assert _plan(toy, cache)["ok"] is True
    config = toy["skill"] / "toy_config.py"
    text = config.read_text()
    assert "ge=0, description=\"Seconds the toy entrypoint sleeps per epoch.\"" in text
    config.write_text(text.replace('Field(0.0, ge=0, description="Seconds', 'Field(0.0, ge=1, description="Seconds'))
    res = _plan(toy, cache)
    assert res["config"] is True and res["ok"] == ["train.sleep_s"], res


def test_no_cache_switch(toy, tmp_path):
    cache = tmp_path / "cache"
    _plan(toy, cache, env={"TAO_SKILL_NO_CACHE": "1"})
    res = _plan(toy, cache, env={"TAO_SKILL_NO_CACHE": "1"})
    assert res["jsonschema"] is True and not (cache / "verdicts").exists()
