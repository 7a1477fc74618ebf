"""automl_policy resolution and the four routing cases."""

from __future__ import annotations

import pytest

from tao_skill.errors import RunnerError
from tao_skill.policy import resolve_policy


OFF_PHRASES = [
    "Please turn off AutoML for this one",
    "disable AutoML",
    "no HPO, thanks",
    "just plain training",
    "train it without AutoML",
    "AutoML off",
    "turn AutoML off",
    "don't use AutoML",
    "skip the hyperparameter search",
    "DISABLE AUTO-ML",
    "No hyper-parameter tuning please",
]
NOT_OFF = ["train NVPanoptix3D with AutoML", "tune it with HPO", "train for 10 epochs", ""]


@pytest.mark.parametrize("text", OFF_PHRASES)
def test_off_phrases(text):
    policy, reason = resolve_policy(None, text)
    assert policy == "off" and "turns AutoML off" in reason


@pytest.mark.parametrize("text", NOT_OFF)
def test_other_requests_stay_auto(text):
    assert resolve_policy(None, text)[0] == "auto"


def test_explicit_flag_wins_over_request(cli):
    assert resolve_policy("on", "no HPO please") == ("on", "--automl-policy on given explicitly")
    with pytest.raises(RunnerError):
        resolve_policy("maybe", None)


def _dry(cli, toy, *extra):
    return cli("run", "toynet", "train", "--skill-dir", str(toy["skill"]), "--train-dataset", str(toy["data"]),
               "--dry-run", "--json", *extra)


def test_auto_and_runnable_routes_to_automl(cli, toy):
    code, plan, *_ = _dry(cli, toy)
    assert code == 0 and plan["route"] == "automl" and plan["automl_policy"] == "auto"


def test_off_routes_direct(cli, toy):
    code, plan, *_ = _dry(cli, toy, "--request", "plain training")
    assert code == 0 and plan["route"] == "direct" and plan["automl_policy"] == "off"
    assert "plain training" in plan["policy_reason"]


def test_missing_template_goes_direct_with_notice(cli, toy):
    (toy["skill"] / "references" / "spec_template_train.yaml").unlink()
    code, plan, *_ = _dry(cli, toy)
    assert code == 0 and plan["route"] == "direct" and plan["automl_policy"] == "auto"
    assert "AutoML is enabled but not runnable for this model until schemas are generated" in plan["notice"]
    assert "tao-skill schemas generate" in plan["route_reason"]
    assert plan["spec"]["train"]["epochs"] == 3  # the schema default stands in for the template
    code, doc, *_ = _dry(cli, toy, "--automl-policy", "on")
    assert code == 2 and "cannot run" in doc["errors"][0]["message"]


def test_broken_schema_goes_direct_with_notice(toy):
    path = toy["skill"] / "references" / "spec_template_train.yaml"
    text = path.read_text()
    (toy["skill"] / "schemas" / "train.schema.json").write_text("{broken")
    path.write_text(text)
    from tao_skill.skills import load_skill_dir
    from tao_skill.policy import decide

    decision = decide(load_skill_dir(toy["skill"]), "train", None, None)
    assert decision.route == "direct"
    assert "AutoML is enabled but not runnable for this model until schemas are generated" in decision.notice
    assert "tao-skill schemas generate" in decision.notice


def test_on_with_non_runnable_automl_is_exit_2(toy):
    (toy["skill"] / "schemas" / "train.schema.json").write_text("{broken")
    from tao_skill.skills import load_skill_dir
    from tao_skill.policy import decide

    with pytest.raises(RunnerError) as info:
        decide(load_skill_dir(toy["skill"]), "train", "on", None)
    assert info.value.code == 2


def test_non_train_action_never_routes_to_automl(cli, toy):
    code, plan, *_ = cli("run", "toynet", "evaluate", "--skill-dir", str(toy["skill"]), "--eval-dataset",
                         str(toy["data"]), "--override", "evaluate.checkpoint=" + str(toy["data"] / "labels.json"),
                         "--automl-policy", "on", "--dry-run", "--json")
    assert code == 0 and plan["route"] == "direct" and "never routes" in plan["route_reason"]


def test_skill_info_is_byte_identical_after_runs(repo, cli, toy):
    before = (repo / "references" / "skill_info.yaml").read_bytes()
    toy_before = (toy["skill"] / "references" / "skill_info.yaml").read_bytes()
    cli("run", "nvpanoptix3d", "train", "--request", "no HPO", "--train-dataset", "s3://bkt/t", "--eval-dataset",
        "s3://bkt/e", "--dry-run", "--json")
    _dry(cli, toy, "--automl-policy", "off")
    assert (repo / "references" / "skill_info.yaml").read_bytes() == before
    assert (toy["skill"] / "references" / "skill_info.yaml").read_bytes() == toy_before
