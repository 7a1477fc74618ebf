"""NVIDIA-shaped experiment specs load unchanged: one spec file for every action, `null` where NVIDIA's config
allows None, relative data-source paths anchored at the data source (or the spec file's folder).

The specs are built here from the facts in shared/reference (nv_default_spec_7.0.1.yaml: NVIDIA's dataclass
defaults; the shape of NVIDIA's shipped experiment_specs/spec_front3d_3d.yaml: every action's section in one
file), not copied from NVIDIA's files.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from nvpanoptix3d.config import action_models
from tao_skill.errors import RunnerError
from tao_skill.plan import RunRequest, prepare

REPO = Path(__file__).resolve().parents[2]
NV_DEFAULTS = REPO.parent / "shared" / "reference" / "nv_default_spec_7.0.1.yaml"
ACTIONS = ("train", "evaluate", "inference", "export")

#: Fields NVIDIA types Optional (None allowed), per its 7.0.1 config dataclasses.
NULLABLE = {
    "train": ["model_name", "encryption_key", "results_dir", "wandb.entity", "wandb.group",
              "model.backbone.pretrained_model_path", "train.freeze", "train.iters_per_epoch",
              "train.resume_training_checkpoint_path", "train.results_dir"],
    "evaluate": ["evaluate.trt_engine", "evaluate.results_dir"],
    "inference": ["inference.trt_engine", "inference.results_dir"],
    "export": ["export.results_dir"],
    "gen_trt_engine": ["gen_trt_engine.results_dir", "gen_trt_engine.trt_engine", "gen_trt_engine.timing_cache",
                       "gen_trt_engine.tensorrt.layers_precision"],
}


def _set(tree: dict, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for p in parents:
        tree = tree.setdefault(p, {})
    tree[last] = value


def whole_experiment_spec() -> dict:
    """A spec shaped like NVIDIA's shipped 3D-FRONT 3D spec: common sections plus every action's section."""
    return {
        "results_dir": "",
        "model_name": None,
        "encryption_key": None,
        "dataset": {"name": "front3d", "contiguous_id": True, "label_map": "", "downsample_factor": 1,
                    "frustum_mask_path": "", "iso_value": 1.0, "enable_3d": True,
                    "train": {"json_path": "", "base_dir": "", "batch_size": 1, "num_workers": 2},
                    "val": {"json_path": "", "base_dir": "", "batch_size": 1, "num_workers": 2},
                    "test": {"json_path": "", "base_dir": "", "batch_size": 1, "num_workers": 2},
                    "augmentation": {"train_min_size": [240], "train_max_size": 960, "size_divisibility": 32}},
        "train": {"checkpoint_2d": "", "checkpoint_3d": "", "freeze": [], "num_epochs": 20,
                  "checkpoint_interval_unit": "step", "checkpoint_interval": 1000, "iters_per_epoch": None,
                  "resume_training_checkpoint_path": None,
                  "optim": {"lr": 0.0001, "lr_scheduler": "WarmupPoly", "max_steps": 110000,
                            "monitor_name": "train_loss"}},
        "evaluate": {"checkpoint": "", "trt_engine": None, "results_dir": None},
        "inference": {"images_dir": "", "checkpoint": "", "results_dir": None},
        "model": {"object_mask_threshold": 0.8, "overlap_threshold": 0.8,
                  "backbone": {"backbone_type": "vggt", "pretrained_model_path": ""},
                  "frustum3d": {"iso_recon_value": 1.0, "use_multi_scale": True}},
        "export": {"checkpoint": "", "onnx_file_2d": "", "onnx_file_3d": "", "max_voxels": 700000,
                   "on_cpu": False, "input_channel": 3, "input_width": 320, "input_height": 240,
                   "opset_version": 17, "batch_size": 1, "verbose": False, "results_dir": None},
        "wandb": {"enable": True, "name": "nvpanoptix3d_3d_front3d", "tags": ["training", "3d_front3d"]},
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    from nvpanoptix3d.data.synth import generate

    root = tmp_path_factory.mktemp("nvspec") / "front3d"
    generate(root, scenes=2, seed=0, size=(80, 60), grid=32, voxel_size=0.18)
    return root


def _prepare(tmp_path: Path, action: str, spec: dict, **kw):
    path = tmp_path / "nv_spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return prepare(RunRequest(network="nvpanoptix3d", action=action, spec_file=path,
                              workspace=tmp_path / "ws", **kw))


@pytest.mark.skipif(not NV_DEFAULTS.is_file(), reason="shared/reference not present")
@pytest.mark.parametrize("action", ACTIONS)
def test_nvidias_default_config_validates_for_its_action(action):
    defaults = yaml.safe_load(NV_DEFAULTS.read_text())
    model = action_models()[action]
    spec = {k: v for k, v in defaults.items() if k in model.model_fields}
    model.model_validate(spec)  # NVIDIA's nulls and every default load


@pytest.mark.parametrize("action", list(NULLABLE))
def test_null_is_accepted_where_nvidia_allows_none_and_means_the_default(action, schemas):
    keys = NULLABLE["train"] + (NULLABLE[action] if action != "train" else [])
    spec: dict = {}
    for key in keys:
        _set(spec, key, None)
    model = action_models()[action]
    got, default = model.model_validate(spec), model()
    for key in keys:
        a, b = got, default
        for part in key.split("."):
            a, b = getattr(a, part), getattr(b, part)
        assert a == b, key
    jsonschema.validate(spec, schemas[action])  # the packaged schema accepts the same nulls
    with pytest.raises(Exception):
        model.model_validate({"train": {"num_epochs": None}})  # not Optional in NVIDIA's config


@pytest.mark.parametrize("action", ACTIONS)
def test_whole_experiment_spec_validates_for_every_action(action, dataset, tmp_path):
    ckpt = tmp_path / "model.pth"
    ckpt.write_bytes(b"\0")
    spec = whole_experiment_spec()
    if action in ("evaluate", "inference", "export"):
        spec[action]["checkpoint"] = str(ckpt)
    sources = {"train": {"train_dataset": str(dataset), "eval_dataset": str(dataset)},
               "evaluate": {"eval_dataset": str(dataset)},
               "inference": {"inference_dataset": str(dataset)}}.get(action, {})
    prepared = _prepare(tmp_path, action, spec, **sources)
    ignored = prepared.plan["ignored_sections"]
    others = {"evaluate", "inference", "export"} - {action}
    assert set(ignored) == others
    assert not others & set(prepared.spec)  # checked, then not used


def test_another_actions_section_is_still_checked_against_its_own_schema(dataset, tmp_path):
    spec = whole_experiment_spec()
    spec["export"]["opset_versoin"] = 17
    spec["export"]["input_width"] = "wide"
    with pytest.raises(RunnerError) as err:
        _prepare(tmp_path, "train", spec, train_dataset=str(dataset), eval_dataset=str(dataset))
    by_key = {e.key: e for e in err.value.errors}
    assert by_key["export.opset_versoin"].suggestion == "export.opset_version"
    assert "not a key of the `export` section" in by_key["export.opset_versoin"].message
    assert "export.input_width" in by_key
    assert len(by_key) == 2


def test_relative_frustum_path_resolves_under_the_data_source(dataset, tmp_path):
    spec = whole_experiment_spec()
    spec["dataset"]["frustum_mask_path"] = "meta/frustum_mask.npz"  # NVIDIA's default
    prepared = _prepare(tmp_path, "train", spec, train_dataset=str(dataset), eval_dataset=str(dataset))
    assert prepared.spec["dataset"]["frustum_mask_path"] == f"{dataset}/meta/frustum_mask.npz"


def test_relative_paths_without_a_data_source_resolve_against_the_spec_files_folder(dataset, tmp_path):
    spec = whole_experiment_spec()
    spec["dataset"].update({"frustum_mask_path": "meta/frustum_mask.npz", "label_map": "meta/colormap.json"})
    for split in ("train", "val"):
        spec["dataset"][split].update({"base_dir": ".", "json_path": f"meta/{split}.json"})
    path = dataset / "nv_spec.yaml"   # the spec lives in the dataset root; no --train-dataset is given
    path.write_text(yaml.safe_dump(spec))
    try:
        prepared = prepare(RunRequest(network="nvpanoptix3d", action="train", spec_file=path,
                                      workspace=tmp_path / "ws"))
    finally:
        path.unlink()
    ds = prepared.spec["dataset"]
    assert Path(ds["frustum_mask_path"]) == dataset / "meta" / "frustum_mask.npz"
    assert Path(ds["train"]["json_path"]) == dataset / "meta" / "train.json"
    assert Path(ds["val"]["base_dir"]).resolve() == dataset.resolve()


def test_the_cli_says_which_sections_it_checked_and_left_out(dataset, tmp_path, tao, monkeypatch):
    """validate (human and --json) and the human dry-run plan name the other actions' sections."""
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    path = tmp_path / "nv_spec.yaml"
    path.write_text(yaml.safe_dump(whole_experiment_spec()))
    flags = ("--spec", str(path), "--train-dataset", str(dataset), "--eval-dataset", str(dataset),
             "--automl-policy", "off")
    human = tao("validate", "nvpanoptix3d", "train", *flags)
    assert human.code == 0, human.out
    line = next(x for x in human.out.splitlines() if "checked and not used" in x)
    assert all(name in line for name in ("evaluate", "inference", "export"))
    doc = tao("validate", "nvpanoptix3d", "train", *flags, "--json").doc
    assert set(doc["ignored_sections"]) == {"evaluate", "inference", "export"}
    plan = tao("run", "nvpanoptix3d", "train", *flags, "--dry-run")
    assert plan.code == 0 and "sections of other actions, checked and not used: evaluate" in plan.out
