"""automl_policy from the user's own words: English and Chinese, negations, NVIDIA's `automl_policy: off`,
and requests that merely mention AutoML (which must keep the default). One row per paraphrase."""

from __future__ import annotations

import pytest

from tao_skill.policy import resolve_policy

OFF, AUTO, ON = "off", "auto", "on"

TABLE = [
    # English: turning AutoML off
    ("Please turn off AutoML and train for 20 epochs", OFF),
    ("disable AutoML", OFF),
    ("no HPO, thanks", OFF),
    ("I don't want AutoML", OFF),
    ("I do not want any hyperparameter search", OFF),
    ("train it without AutoML", OFF),
    ("Train without any hyper-parameter tuning, lr 1e-4", OFF),
    ("skip the HPO step and just train", OFF),
    ("never run AutoML for this job", OFF),
    ("AutoML: off", OFF),
    ("turn AutoML off please", OFF),
    ("just plain training on my data", OFF),
    ("train directly with my spec", OFF),
    ("Can you train it without HPO?", OFF),
    ("Use AutoML? No, plain training.", OFF),
    ("keep my fixed hyperparameters", OFF),
    ("avoid auto-ml this time", OFF),
    ("automl_policy: off", OFF),
    ("Run with automl_policy=off and 10 epochs", OFF),
    ("DISABLE AUTO ML", OFF),
    # English: negated off, and asking for AutoML (keeps the default auto)
    ("Do NOT turn off AutoML", AUTO),
    ("don't disable AutoML, train for 20 epochs", AUTO),
    ("never skip the hyperparameter search", AUTO),
    ("train NVPanoptix3D with AutoML", AUTO),
    ("run automl please", AUTO),
    ("AutoML on", AUTO),
    ("automl_policy: auto", AUTO),
    ("automl_policy: on", ON),
    # English: merely mentioning AutoML
    ("What is AutoML?", AUTO),
    ("Evaluate the best checkpoint of my AutoML job", AUTO),
    ("I'm not sure whether to use AutoML; train for 20 epochs", AUTO),
    ("Explain how HPO works, then train", AUTO),
    ("export the AutoML results to ONNX", AUTO),
    ("fine-tuning from the pretrained model, 5 epochs", AUTO),
    ("train for 10 epochs on s3://bucket/data", AUTO),
    # Chinese: turning AutoML off
    ("关闭AutoML，训练20个epoch", OFF),
    ("禁用AutoML", OFF),
    ("不要超参数搜索", OFF),
    ("不使用AutoML，直接训练", OFF),
    ("请不要用自动调参", OFF),
    ("跳过超参数优化，学习率设为1e-4", OFF),
    ("直接训练，不需要AutoML", OFF),
    ("普通训练就行", OFF),
    ("AutoML关掉", OFF),
    ("automl_policy：off", OFF),
    # Chinese: negated off, asking for it, merely mentioning it
    ("不要关闭AutoML", AUTO),
    ("别禁用AutoML，训练10个epoch", AUTO),
    ("使用AutoML训练", AUTO),
    ("开启超参数搜索", AUTO),
    ("什么是AutoML？", AUTO),
    ("是否需要调参？", AUTO),
    ("评估我的AutoML任务的最佳模型", AUTO),
    ("训练20个epoch", AUTO),
]


def test_table_is_large_and_balanced():
    assert len(TABLE) >= 40
    chinese = [t for t, _ in TABLE if any("\u4e00" <= c <= "\u9fff" for c in t)]
    assert len(chinese) >= 15 and {p for t, p in TABLE if t in chinese} >= {OFF, AUTO}


@pytest.mark.parametrize(("text", "policy"), TABLE, ids=[t for t, _ in TABLE])
def test_policy_from_request(text, policy):
    got, reason = resolve_policy(None, text)
    assert got == policy, reason
    if policy == OFF:
        assert "turns AutoML off" in reason
    else:
        assert "default auto" in reason or policy == ON


def test_reason_quotes_the_deciding_phrase():
    assert '"不要超参数搜索"' in resolve_policy(None, "不要超参数搜索")[1]
    assert "Do NOT turn off AutoML" in resolve_policy(None, "Do NOT turn off AutoML")[1]


def test_flag_wins_over_words():
    assert resolve_policy("auto", "关闭AutoML")[0] == "auto"
