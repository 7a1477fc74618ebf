"""automl_policy (flag > request phrases > auto) and the train route, with a reason for each decision."""

from __future__ import annotations

import sys
import types

import pytest

from tao_skill.errors import RunnerError
from tao_skill.policy import resolve_policy

REQUIRED_NOTICE = "AutoML is enabled but not runnable for this model until schemas are generated"

OFF_PHRASES = [
    "turn off AutoML", "Please turn off AutoML for this run", "disable AutoML", "no HPO", "plain training",
    "train it without AutoML", "AutoML off", "no automl", "skip AutoML", "don't use AutoML", "do not use automl",
    "DISABLE AUTOML", "switch AutoML off", "Train on my data, no hyper-parameter tuning", "automl: off",
]
AUTO_REQUESTS = ["train nvpanoptix3d with AutoML", "tune it with HPO", "train for 10 epochs on s3://bkt/x",
                 "run automl please", "AutoML on"]


@pytest.mark.parametrize("text", OFF_PHRASES)
def test_each_off_phrase_turns_automl_off(text):
    policy, reason = resolve_policy(None, text)
    assert policy == "off"
    assert "turns AutoML off" in reason


@pytest.mark.parametrize("text", AUTO_REQUESTS)
def test_other_requests_keep_auto(text):
    policy, reason = resolve_policy(None, text)
    assert policy == "auto" and "default auto" in reason


@pytest.mark.parametrize("flag", ["on", "off", "auto"])
def test_explicit_flag_wins_over_the_request(flag):
    assert resolve_policy(flag, "no HPO, disable AutoML") == (flag, f"--automl-policy {flag} given explicitly")


def test_no_flag_no_request_is_auto():
    assert resolve_policy(None, None) == ("auto", "no --automl-policy and no request text; default auto")


def test_flag_through_the_cli_wins_over_request(toy_run):
    res = toy_run("train", "--automl-policy", "auto", "--request", "no HPO", "--dry-run")
    assert res.code == 0 and res.doc["automl_policy"] == "auto" and res.doc["route"] == "automl"


def _train_dry(tao, toy, *extra):
    return tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
               "--eval-dataset", str(toy["data"]), "--dry-run", "--json", *extra)


def test_route_auto_and_runnable_goes_to_automl(tao, toy):
    res = _train_dry(tao, toy)
    assert res.code == 0, res.out
    plan = res.doc
    assert (plan["route"], plan["automl_policy"]) == ("automl", "auto")
    assert plan["policy_reason"] and plan["route_reason"] and plan["notice"] is None


def test_route_on_and_runnable_goes_to_automl(tao, toy):
    res = _train_dry(tao, toy, "--automl-policy", "on")
    assert res.code == 0 and res.doc["route"] == "automl"


def test_route_off_goes_direct(tao, toy):
    res = _train_dry(tao, toy, "--request", "plain training please")
    assert res.code == 0
    assert (res.doc["route"], res.doc["automl_policy"]) == ("direct", "off")
    assert '"plain training"' in res.doc["policy_reason"]


@pytest.mark.parametrize("broken", ["missing_template", "broken_schema", "broken_template"])
def test_route_not_runnable_goes_direct_with_the_message(tao, toy, broken):
    template = toy["skill"] / "references" / "spec_template_train.yaml"
    if broken == "missing_template":
        template.unlink()
    elif broken == "broken_template":
        template.write_text("results_dir: [unclosed\n")
    else:
        (toy["skill"] / "schemas" / "train.schema.json").write_text("{not json")
    res = _train_dry(tao, toy)
    assert res.code == 0, res.out
    if broken == "broken_schema":  # validated against the schema generated in memory from the config
        assert "generated in memory" in res.doc["schema_note"]
        assert (toy["skill"] / "schemas" / "train.schema.json").read_text() == "{not json"  # nothing written
    plan = res.doc
    assert (plan["route"], plan["automl_policy"]) == ("direct", "auto")
    assert REQUIRED_NOTICE in plan["notice"] and "tao-skill schemas generate" in plan["notice"]
    assert plan["spec"]["train"]["epochs"] == 3  # the schema's defaults stand in for the template


def test_not_runnable_notice_in_human_output(tao, toy):
    (toy["skill"] / "references" / "spec_template_train.yaml").unlink()
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
              "--eval-dataset", str(toy["data"]), "--dry-run")
    assert res.code == 0 and REQUIRED_NOTICE in res.out and "route direct" in res.out


def test_without_schema_and_config_the_error_names_the_fix(tao, toy, monkeypatch):
    monkeypatch.delitem(sys.modules, "toy_config", raising=False)
    (toy["skill"] / "schemas" / "train.schema.json").unlink()
    (toy["skill"] / "toy_config.py").write_text("raise ImportError('gone')\n")
    res = _train_dry(tao, toy, "--automl-policy", "off")
    assert res.code == 2 and "tao-skill schemas generate" in res.doc["errors"][0]["message"]


def test_on_with_non_runnable_automl_is_exit_2(tao, toy):
    (toy["skill"] / "references" / "spec_template_train.yaml").unlink()
    res = _train_dry(tao, toy, "--automl-policy", "on")
    assert res.code == 2
    assert "cannot run" in res.doc["errors"][0]["message"] and REQUIRED_NOTICE in res.doc["errors"][0]["message"]


def test_on_with_automl_disabled_is_exit_2(tao, toy):
    info = toy["skill"] / "references" / "skill_info.yaml"
    info.write_text(info.read_text().replace("automl_enabled: true", "automl_enabled: false"))
    res = _train_dry(tao, toy)
    assert res.code == 0 and res.doc["route"] == "direct" and res.doc["notice"] is None
    assert _train_dry(tao, toy, "--automl-policy", "on").code == 2


@pytest.mark.parametrize("action", ["evaluate", "inference", "export"])
def test_non_train_actions_never_route_to_automl(tao, toy, action):
    ckpt = toy["data"] / "labels.json"
    extra = {"evaluate": ["--eval-dataset", str(toy["data"]), "--override", f"evaluate.checkpoint={ckpt}"],
             "inference": ["--inference-dataset", str(toy["data"]), "--override", f"inference.checkpoint={ckpt}"],
             "export": ["--override", f"export.checkpoint={ckpt}"]}[action]
    res = tao("run", "toyseg", action, "--skill-dir", str(toy["skill"]), "--automl-policy", "on", "--dry-run",
              "--json", *extra)
    assert res.code == 0, res.out
    assert res.doc["route"] == "direct" and "never routes to AutoML" in res.doc["route_reason"]


def test_skill_info_is_byte_identical_after_any_run(tao, toy, toy_run):
    from tao_skill.skills import discover

    real = discover()["nvpanoptix3d"].root / "references" / "skill_info.yaml"
    toy_info = toy["skill"] / "references" / "skill_info.yaml"
    before = real.read_bytes(), toy_info.read_bytes()
    tao("run", "nvpanoptix3d", "train", "--request", "disable AutoML", "--train-dataset", "s3://bkt/t",
        "--eval-dataset", "s3://bkt/e", "--dry-run", "--json")
    tao("run", "nvpanoptix3d", "train", "--automl-policy", "on", "--dry-run", "--json")
    toy_run("train", "--request", "no HPO")  # a real run of the toy entrypoint
    _train_dry(tao, toy, "--automl-policy", "off")
    assert (real.read_bytes(), toy_info.read_bytes()) == before


def test_automl_route_without_the_automl_runner_is_exit_2(tao, toy, monkeypatch):
    monkeypatch.setitem(sys.modules, "tao_skill.automl.launcher", None)  # import fails like a missing module
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
              "--eval-dataset", str(toy["data"]), "--json")
    assert res.code == 2
    assert "AutoML runner not installed" in res.doc["errors"][0]["message"]
    listing = tao("jobs", "list", "--json").doc
    assert listing["jobs"] == []  # nothing recorded for a route that cannot start


def test_automl_route_calls_run_from_plan_with_a_recorded_job(tao, toy, monkeypatch):
    calls = []

    def run_from_plan(plan, workspace, job_id):
        from tao_skill.jobs import JobStore

        job = JobStore(workspace).get(job_id)
        calls.append((plan, workspace, job_id, job.status, (workspace / "jobs" / job_id / "plan.json").is_file()))
        return 0

    module = types.ModuleType("tao_skill.automl.launcher")
    module.run_from_plan = run_from_plan
    monkeypatch.setitem(sys.modules, "tao_skill.automl", types.ModuleType("tao_skill.automl"))
    monkeypatch.setitem(sys.modules, "tao_skill.automl.launcher", module)
    res = tao("run", "toyseg", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
              "--eval-dataset", str(toy["data"]), "--json")
    assert res.code == 0, res.out
    ((plan, workspace, job_id, status, has_plan),) = calls
    assert plan["route"] == "automl" and plan["job_id"] == job_id == res.doc["job_id"]
    assert workspace == toy["ws"].resolve() and status == "running" and has_plan
    assert plan["key_env"] == "TAO_SKILL_KEY"
    shown = tao("jobs", "show", job_id, "--json").doc
    assert shown["route"] == "automl" and shown["status"] == "done" and shown["exit_code"] == 0


def test_launch_automl_returns_the_runner_code(tmp_path, monkeypatch):
    from tao_skill.routes.automl import launch_automl

    module = types.ModuleType("tao_skill.automl.launcher")
    module.run_from_plan = lambda plan, workspace, job_id: 4
    monkeypatch.setitem(sys.modules, "tao_skill.automl", types.ModuleType("tao_skill.automl"))
    monkeypatch.setitem(sys.modules, "tao_skill.automl.launcher", module)
    assert launch_automl({"route": "automl"}, tmp_path, "train-x") == 4
    monkeypatch.setitem(sys.modules, "tao_skill.automl.launcher", None)
    with pytest.raises(RunnerError) as info:
        launch_automl({"route": "automl"}, tmp_path, "train-x")
    assert info.value.code == 2 and "AutoML runner not installed" in str(info.value)
