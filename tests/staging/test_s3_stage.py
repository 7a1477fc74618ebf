"""End-to-end staging against a real S3 HTTP endpoint (moto server on loopback), driven by the real
skill_info.yaml input tables of train, evaluate and inference."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tao_skill.staging import StagingError, plan_data_sources, stage_data_sources


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}


@pytest.fixture
def datasets(tmp_path, s3, bucket, h):
    """Loose-file train set and packaged (data/images.tar.gz) eval set uploaded to the bucket,
    plus an inference images.tar.gz."""
    train = h.write_front3d(tmp_path / "src_train")
    evalset = h.write_front3d(tmp_path / "src_eval", packaged=True)
    images = {f"images/view_{i:02d}.png": h.scene_files(h.SCENES[0], 10 + i)[f"{h.SCENES[0]}/rgb_0000.png"] for i in range(3)}
    evalset["images.tar.gz"] = h.make_tar(images)
    h.upload_tree(s3, bucket, "data/train", train)
    h.upload_tree(s3, bucket, "data/eval", evalset)
    roots = {"train_datasets": f"s3://{bucket}/data/train", "eval_dataset": f"s3://{bucket}/data/eval",
             "inference_dataset": f"s3://{bucket}/data/eval"}
    return {"train": train, "eval": evalset, "images": images, "roots": roots}


def test_train_table_stages_byte_identical_and_caches(tmp_path, s3, bucket, datasets, count_gets, h, monkeypatch, aws_env):
    inputs, _ = h.load_inputs("train")
    values = h.values_for("train", datasets["roots"])
    assert set(values) == {k for k in inputs if not k.startswith("train.")}  # every dataset key has a source
    cache = tmp_path / "cache"

    plan = plan_data_sources(values, inputs, cache)
    assert [p["key"] for p in plan] == [k for k in inputs if k in values]
    assert all(p["kind"] == "s3" and not p["cached"] and p["error"] is None for p in plan)

    out = stage_data_sources(values, inputs, cache, progress=False)
    assert set(out) == set(values)
    assert {p["key"]: p["local_path"] for p in plan} == out  # the dry run announced the real destinations
    first_gets = len(count_gets)
    assert first_gets >= len(datasets["train"]) + len(datasets["eval"])  # every object fetched once...
    assert first_gets == len(set(count_gets))  # ...and only once, although keys share objects

    # files resolve byte-identical, by spec key
    assert Path(out["dataset.train.json_path"]).read_bytes() == datasets["train"]["meta/train.json"]
    assert Path(out["dataset.label_map"]).read_bytes() == datasets["train"]["meta/colormap.json"]
    assert Path(out["dataset.frustum_mask_path"]).read_bytes() == datasets["train"]["meta/frustum_mask.npz"]
    assert Path(out["dataset.val.json_path"]).read_bytes() == datasets["eval"]["meta/val.json"]
    assert _tree(Path(out["dataset.train.base_dir"])) == datasets["train"]
    # packaged eval set: data/images.tar.gz extracted into data/ -> <base_dir>/data/<scene_id>/...
    eval_base = Path(out["dataset.val.base_dir"])
    assert out["dataset.test.base_dir"] == str(eval_base)
    expected = dict(datasets["eval"])
    for i, scene in enumerate(h.SCENES):
        expected.update({f"data/{k}": v for k, v in h.scene_files(scene, i).items()})
    assert _tree(eval_base) == expected
    assert all(Path(v).is_relative_to(cache) for v in out.values())

    # the plan now says cached, without any network (endpoint pointed at nothing)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert all(p["cached"] for p in plan_data_sources(values, inputs, cache))
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)

    # second staging downloads nothing and returns the same paths
    mtimes = {p: p.stat().st_mtime_ns for p in Path(out["dataset.train.base_dir"]).rglob("*") if p.is_file()}
    assert stage_data_sources(values, inputs, cache, progress=False) == out
    assert len(count_gets) == first_gets
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes

    # a changed object is downloaded again (exactly once), a deleted one disappears
    s3.put_object(Bucket=bucket, Key="data/train/meta/train.json", Body=b'{"images": []}')
    s3.delete_object(Bucket=bucket, Key=f"data/train/data/{h.SCENES[0]}/depth_0000.exr")
    assert stage_data_sources(values, inputs, cache, progress=False) == out
    assert count_gets[first_gets:] == ["/data/train/meta/train.json"]
    assert Path(out["dataset.train.json_path"]).read_bytes() == b'{"images": []}'
    assert not (Path(out["dataset.train.base_dir"]) / "data" / h.SCENES[0] / "depth_0000.exr").exists()


def test_evaluate_and_inference_tables(tmp_path, datasets, count_gets, h):
    cache = tmp_path / "cache"
    inputs, _ = h.load_inputs("evaluate")
    values = h.values_for("evaluate", datasets["roots"])
    values["evaluate.checkpoint"] = datasets["roots"]["train_datasets"] + "/meta/train.json"  # any object: a file input
    out = stage_data_sources(values, inputs, cache, progress=False)
    assert Path(out["dataset.val.json_path"]).read_bytes() == datasets["eval"]["meta/val.json"]
    assert Path(out["evaluate.checkpoint"]).read_bytes() == datasets["train"]["meta/train.json"]
    scene = h.SCENES[1]
    assert (Path(out["dataset.val.base_dir"]) / "data" / scene / "rgb_0000.png").read_bytes() == h.scene_files(scene, 1)[f"{scene}/rgb_0000.png"]

    inputs, _ = h.load_inputs("inference")
    values = h.values_for("inference", datasets["roots"])
    assert values["inference.images_dir"].endswith("/data/eval/images.tar.gz")
    plan = {p["key"]: p for p in plan_data_sources(values, inputs, cache)}
    assert plan["inference.images_dir"]["kind"] == "archive" and not plan["inference.images_dir"]["cached"]
    before = len(count_gets)
    out = stage_data_sources(values, inputs, cache, progress=False)
    images_dir = Path(out["inference.images_dir"])
    assert images_dir.is_dir() and str(images_dir) == plan["inference.images_dir"]["local_path"]
    # the archive's single top folder (images/) is unwrapped: the images are at the top level
    assert _tree(images_dir) == {k.removeprefix("images/"): v for k, v in datasets["images"].items()}
    # nothing downloaded: the evaluate run mirrored s3://.../data/eval/, archive included; only extraction ran
    assert len(count_gets) == before
    plan = {p["key"]: p for p in plan_data_sources(values, inputs, cache)}
    assert plan["inference.images_dir"]["cached"]


def test_type_mismatch_and_missing(tmp_path, datasets, h):
    cache = tmp_path / "cache"
    root = datasets["roots"]["train_datasets"]
    with pytest.raises(StagingError, match="a file is expected but this is a prefix") as err:
        stage_data_sources({"dataset.label_map": root + "/meta"}, {"dataset.label_map": {"type": "file"}}, cache)
    assert err.value.key == "dataset.label_map" and "`dataset.label_map`" in str(err.value)
    with pytest.raises(StagingError, match="no objects under this prefix"):
        stage_data_sources({"d": root + "/nothing-here"}, {"d": {"type": "folder"}}, cache)
    with pytest.raises(StagingError, match="folder is expected but this is a single object"):
        stage_data_sources({"d": root + "/meta/train.json"}, {"d": {"type": "folder"}}, cache)


def test_local_and_file_uri_sources(tmp_path, h):
    data = tmp_path / "ds"
    files = h.write_front3d(data, packaged=True)
    images = {f"images/a{i}.png": bytes([i]) * 10 for i in range(2)}
    (tmp_path / "images.tar.gz").write_bytes(h.make_tar(images))
    cache = tmp_path / "cache"
    inputs, _ = h.load_inputs("train")
    values = h.values_for("train", {"train_datasets": str(data), "eval_dataset": data.as_uri()})
    out = stage_data_sources(values, inputs, cache, progress=False)
    assert out["dataset.train.json_path"] == str(data / "meta" / "train.json")
    assert out["dataset.val.json_path"] == str(data / "meta" / "val.json")  # file:// URI -> plain path
    # packaged scenes: <base_dir>/data/<scene_id>/... resolves in a view in the cache; the user's folder is
    # not written to (no extracted scene, no marker beside the archive)
    scene = h.SCENES[0]
    before = sorted(p.name for p in (data / "data").iterdir())
    assert before == ["images.tar.gz"]
    base = Path(out["dataset.train.base_dir"])
    assert base.is_relative_to(cache) and base != data
    assert (base / "data" / scene / "rgb_0000.png").read_bytes() == h.scene_files(scene, 0)[f"{scene}/rgb_0000.png"]
    assert (base / "meta" / "train.json").read_bytes() == (data / "meta" / "train.json").read_bytes()
    assert (data / "data" / "images.tar.gz").read_bytes() == files["data/images.tar.gz"]
    assert out["dataset.val.base_dir"] == str(base)
    assert all(p["cached"] and p["kind"] == "local" for p in plan_data_sources(values, inputs, cache))

    inf_inputs, _ = h.load_inputs("inference")
    vals = {"inference.images_dir": str(tmp_path / "images.tar.gz"), "dataset.label_map": str(data / "meta/colormap.json")}
    plan = {p["key"]: p for p in plan_data_sources(vals, inf_inputs, cache)}
    assert plan["inference.images_dir"]["kind"] == "archive" and not plan["inference.images_dir"]["cached"]
    out = stage_data_sources(vals, inf_inputs, cache, progress=False)
    images_dir = Path(out["inference.images_dir"])
    assert images_dir.is_relative_to(cache)  # the user's folder is not written to
    assert sorted(p.name for p in images_dir.iterdir()) == ["a0.png", "a1.png"]
    assert plan_data_sources(vals, inf_inputs, cache)[1]["cached"] is True

    missing = {"dataset.label_map": str(tmp_path / "nope.json")}
    plan = plan_data_sources(missing, inf_inputs, cache)
    assert "does not exist" in plan[0]["error"] and plan[0]["cached"] is False
    with pytest.raises(StagingError, match="does not exist") as err:
        stage_data_sources(missing, inf_inputs, cache)
    assert "nope.json" in str(err.value) and "Fix:" in str(err.value)
    with pytest.raises(StagingError, match="unsupported URI scheme 'gs://'"):
        stage_data_sources({"dataset.label_map": "gs://b/k"}, inf_inputs, cache)


def test_dry_run_plan_does_not_import_boto3(tmp_path, h):
    inputs, _ = h.load_inputs("train")
    values = h.values_for("train", {"train_datasets": "s3://bucket-a/data/train", "eval_dataset": "s3://bucket-a/data/eval"})
    code = (
        "import json, sys\n"
        "from tao_skill.staging import plan_data_sources\n"
        f"plan = plan_data_sources(json.loads({json.dumps(json.dumps(values))}), json.loads({json.dumps(json.dumps(inputs))}), "
        f"{str(tmp_path / 'cache')!r})\n"
        "assert 'boto3' not in sys.modules and 'botocore' not in sys.modules, 'boto3 imported by a dry run'\n"
        "print(len(plan))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(len(values))
    assert not (tmp_path / "cache").exists()  # planning writes nothing


def test_object_changed_after_listing_is_not_recorded(tmp_path, s3, bucket, monkeypatch):
    """Every GetObject carries If-Match with the listed ETag: bytes of another version are refused."""
    from tao_skill.staging import s3download

    s3.put_object(Bucket=bucket, Key="ds/a.bin", Body=b"version 1")
    real_list = s3download.S3Stager.list
    stale = lambda self, loc, **kw: [s3download.RemoteObject(o.key, '"0123456789abcdef0123456789abcdef"', o.size)
                                     for o in real_list(self, loc, **kw)]
    monkeypatch.setattr(s3download.S3Stager, "list", stale)
    cache = tmp_path / "cache"
    with pytest.raises(StagingError, match="object changed while it was being downloaded"):
        stage_data_sources({"d": f"s3://{bucket}/ds"}, {"d": {"type": "folder"}}, cache, progress=False)
    assert not (cache / "s3" / bucket / "ds" / "a.bin").exists()
    assert not any((cache / "tmp").iterdir())  # no partial file left behind
    monkeypatch.setattr(s3download.S3Stager, "list", real_list)
    out = stage_data_sources({"d": f"s3://{bucket}/ds"}, {"d": {"type": "folder"}}, cache, progress=False)
    assert (Path(out["d"]) / "a.bin").read_bytes() == b"version 1"


def test_plan_check_remote_compares_etags(tmp_path, s3, bucket):
    s3.put_object(Bucket=bucket, Key="m/colormap.json", Body=b"[1]")
    s3.put_object(Bucket=bucket, Key="d/x.bin", Body=b"x")
    values = {"dataset.label_map": f"s3://{bucket}/m/colormap.json", "dataset.val.base_dir": f"s3://{bucket}/d"}
    inputs = {"dataset.label_map": {"type": "file"}, "dataset.val.base_dir": {"type": "folder"}}
    cache = tmp_path / "cache"
    stage_data_sources(values, inputs, cache, progress=True)  # not a TTY here: no bar, same result
    s3.put_object(Bucket=bucket, Key="m/colormap.json", Body=b"[2]")
    s3.put_object(Bucket=bucket, Key="d/x.bin", Body=b"y")
    assert [p["cached"] for p in plan_data_sources(values, inputs, cache)] == [True, True]  # index only
    assert [p["cached"] for p in plan_data_sources(values, inputs, cache, check_remote=True)] == [False, False]


def test_progress_bar_renders(capsys):
    from tao_skill.staging.progress import progress_wanted, transfer_progress

    assert progress_wanted(True) is False  # pytest's stderr is not a terminal
    with transfer_progress("s3://b/p (2 files)", 10, enabled=True) as advance:
        advance(4)
        advance(6)
    assert "s3://b/p (2 files)" in capsys.readouterr().err


def test_profile_config_and_service_endpoint(tmp_path, s3, bucket, monkeypatch, moto_endpoint, h):
    """Credentials from a named profile in the shared files, endpoint from AWS_ENDPOINT_URL_S3 (MinIO style)."""
    s3.put_object(Bucket=bucket, Key="meta/colormap.json", Body=b"[]")
    h.isolate_aws(monkeypatch, tmp_path)
    (tmp_path / "no-aws-credentials").write_text(
        "[minio]\naws_access_key_id = AKIAPROFILEKEY000001\naws_secret_access_key = profile-secret-value-0123456789\n")
    (tmp_path / "no-aws-config").write_text("[profile minio]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_PROFILE", "minio")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the service-specific variable wins
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    out = stage_data_sources({"dataset.label_map": f"s3://{bucket}/meta/colormap.json"},
                             {"dataset.label_map": {"type": "file"}}, tmp_path / "cache", progress=False)
    assert Path(out["dataset.label_map"]).read_bytes() == b"[]"
    with pytest.raises(StagingError) as err:
        stage_data_sources({"dataset.label_map": f"s3://{bucket}/meta/missing.json"},
                           {"dataset.label_map": {"type": "file"}}, tmp_path / "cache", progress=False)
    assert "profile-secret-value" not in str(err.value) and "AKIAPROFILEKEY" not in str(err.value)
