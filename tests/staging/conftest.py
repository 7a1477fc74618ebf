"""Fixtures: a real S3 HTTP endpoint on loopback (moto server), an isolated AWS environment,
and a small Front3D-layout dataset written from scratch."""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ACCESS_KEY = "AKIAZZTESTKEY0000001"
SECRET_KEY = "tEsTsEcReT/0123456789abcdefghijklmnopqrst"
SESSION_TOKEN = "FwoGZXIvYXdzTESTSESSIONTOKEN0123456789abcdefXYZ"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN)

SKILL_INFO = Path(__file__).resolve().parents[2] / "references" / "skill_info.yaml"


@pytest.fixture(scope="session")
def moto_endpoint(endpoint):
    """The loopback moto S3 server of tests/conftest.py (one per session); its URL."""
    return endpoint


def isolate_aws(monkeypatch, tmp_path: Path) -> None:
    """No profile, config file, instance metadata or real credentials can leak into a test."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.fixture
def aws_env(monkeypatch, tmp_path, moto_endpoint):
    """Dummy credentials and AWS_ENDPOINT_URL pointing at the moto server."""
    isolate_aws(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    return moto_endpoint


@pytest.fixture
def s3(aws_env):
    """A test-side boto3 client (separate from the one staging builds)."""
    import boto3

    return boto3.session.Session().client("s3")


@pytest.fixture
def bucket(s3):
    name = f"bkt-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def count_gets(monkeypatch):
    """Count GetObject requests made by every client staging creates."""
    from tao_skill.staging import s3client

    calls: list[str] = []
    real = s3client.make_client

    def wrapped(**kwargs):
        client = real(**kwargs)
        client.meta.events.register("before-call.s3.GetObject", lambda params, **kw: calls.append(params["url_path"]))
        return client

    monkeypatch.setattr(s3client, "make_client", wrapped)
    return calls


def _png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (6, 8, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


SCENES = ("0003d406-5f27-4bbf-94cd-1cff7c310ba1", "00154c06-2ee2-408a-9664-b8fd74742897")


def scene_files(scene: str, seed: int) -> dict[str, bytes]:
    """The per-sample files of one Front3D scene view (tiny stand-ins with the real names)."""
    rng = np.random.default_rng(seed)
    return {
        f"{scene}/rgb_0000.png": _png(seed),
        f"{scene}/depth_0000.exr": rng.bytes(64),
        f"{scene}/segmap_0000.mapped.npz": _npz(segmap=rng.integers(0, 13, (6, 8, 2)).astype(np.int32)),
        f"{scene}/geometry_0000.npz": _npz(data=rng.random((4, 4, 4)).astype(np.float32)),
        f"{scene}/campose_0000.npz": _npz(pose=np.eye(4)),
    }


def write_front3d(root: Path, *, packaged: bool = False) -> dict[str, bytes]:
    """Write a small Front3D-layout dataset under ``root``; returns {relative path: bytes}.

    ``packaged``: the scenes are shipped as ``data/images.tar.gz`` instead of loose files.
    """
    files: dict[str, bytes] = {
        "meta/train.json": json.dumps({"images": [{"scene_id": SCENES[0], "image_id": "0000"}]}).encode(),
        "meta/val.json": json.dumps({"images": [{"scene_id": SCENES[1], "image_id": "0000"}]}).encode(),
        "meta/test.json": json.dumps({"images": [{"scene_id": SCENES[1], "image_id": "0000"}]}).encode(),
        "meta/colormap.json": json.dumps([{"id": i, "name": f"c{i}", "color": [i, i, i]} for i in range(13)]).encode(),
        "meta/frustum_mask.npz": _npz(mask=np.ones((8, 8, 8), dtype=bool)),
    }
    scenes: dict[str, bytes] = {}
    for i, scene in enumerate(SCENES):
        scenes.update(scene_files(scene, i))
    if packaged:
        files["data/images.tar.gz"] = make_tar(scenes)
    else:
        files.update({f"data/{k}": v for k, v in scenes.items()})
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def make_tar(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def upload_tree(s3, bucket: str, prefix: str, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{rel}" if prefix else rel, Body=data)


def load_inputs(action: str) -> tuple[dict, dict]:
    """``actions.<action>.inputs`` and ``data_sources.<action>`` of the real skill_info.yaml."""
    from ruamel.yaml import YAML

    info = YAML(typ="safe").load(SKILL_INFO.read_text())
    return info["actions"][action]["inputs"], info["data_sources"][action]


def values_for(action: str, roots: dict[str, str]) -> dict[str, str]:
    """Spec values from data_sources: ``{key: <root of its source>/<path>}`` as the runner fills them."""
    _, sources = load_inputs(action)
    out = {}
    for key, src in sources.items():
        root = roots.get(src["source"])
        if root is None:
            continue
        out[key] = f"{root.rstrip('/')}/{src['path']}" if src["path"] else root
    return out


@pytest.fixture(scope="session")
def h():
    """The helpers above, for test modules (conftest is not importable by name in importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(write_front3d=write_front3d, make_tar=make_tar, upload_tree=upload_tree, load_inputs=load_inputs,
                           values_for=values_for, scene_files=scene_files, SCENES=SCENES, SECRETS=SECRETS,
                           isolate_aws=isolate_aws, ACCESS_KEY=ACCESS_KEY, SECRET_KEY=SECRET_KEY)
