"""Fixtures shared by several test folders: the CLI in-process and as a script, a tiny VGGT-like model,
and a loopback S3 server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch


@dataclass
class Outcome:
    """What a CLI call produced: exit code, stdout, stderr, and stdout parsed as JSON (when --json)."""

    code: int
    out: str
    err: str
    doc: Any = None


@pytest.fixture(scope="session", autouse=True)
def _private_plan_cache(tmp_path_factory):
    """The runner's plan caches (validation verdicts, memory estimates) in a folder of this test session
    only: a run never reads what an earlier run or the user's own planning remembered."""
    os.environ["TAO_SKILL_CACHE"] = str(tmp_path_factory.mktemp("tao-skill-cache"))
    yield


@pytest.fixture
def tao():
    """``tao("run", ...)``: the CLI in-process through click's CliRunner, set up as ``tao_skill.cli.main`` does."""
    from click.testing import CliRunner

    from tao_skill.app import Application
    from tao_skill.cli import cli

    def invoke(*args: str, env: dict[str, str] | None = None) -> Outcome:
        result = CliRunner().invoke(cli, list(args), obj=Application(json_mode="--json" in args), env=env,
                                    catch_exceptions=False)
        doc = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
        return Outcome(result.exit_code, result.stdout, result.stderr, doc)

    return invoke


@pytest.fixture
def script():
    """The installed entry point (``tao_skill.cli:main``) in a subprocess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
        proc = subprocess.run([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())",
                               *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
        doc = json.loads(proc.stdout) if "--json" in args and proc.stdout.strip() else None
        return Outcome(proc.returncode, proc.stdout, proc.stderr, doc)

    return run


@pytest.fixture
def tiny_vggt_model():
    """A factory of CPU-sized 2D models of NVIDIA's architecture (DINO patch embedding with registers, camera
    head, DPT depth head, dpt2pixeldecoder, deformable pixel decoder, depth-aware predictor) at narrow widths;
    seeded, so two calls agree."""
    from nvpanoptix3d.network import MaskFormerModel, backbone_preset

    def make() -> MaskFormerModel:
        torch.manual_seed(0)
        backbone = backbone_preset("tiny", embed_dim=32, num_heads=2, dino_num_heads=2, camera_num_heads=2,
                                   dpt_out_channels=(8, 16, 32, 32), num_inter_features=(8, 16, 32, 64),
                                   vggt_input_width=112)
        return MaskFormerModel(backbone=backbone, conv_dim=32, mask_dim=32, depth_dim=32, enc_layers=1, nheads=4,
                               transformer_dim_feedforward=64, hidden_dim=32, num_queries=8, dim_feedforward=64,
                               dec_layers=2, depth_bins=8, reduced_size=(32, 24))

    return make


@pytest.fixture(scope="session")
def endpoint():
    """A real S3 HTTP endpoint on loopback (moto server) standing in for AWS."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(endpoint, monkeypatch, tmp_path):
    """(boto3 client, a fresh bucket) on the loopback endpoint, with the AWS environment pointing at it."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_ACCESS_KEY_ID": "AKIATESTRUNNER000001", "AWS_SECRET_ACCESS_KEY": "runner/test/secret/0123456789",
           "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    import boto3

    client = boto3.session.Session().client("s3")
    bucket = f"runner-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def build_eval_world(root: Path) -> dict:
    """Data, a checkpoint and finished parent jobs, as the eval harness (tests/evals) lays them out."""
    from tao_skill.jobs import JobStore  # noqa: PLC0415

    data = root / "data"
    for rel in ("meta/frustum_mask.npz", "meta/colormap.json", "meta/train.json", "meta/val.json", "meta/test.json",
                "images.tar.gz"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(b"placeholder")
    (root / "pretrained.pth").write_bytes(b"weights")
    store = JobStore(root / "ws")
    ids = {}
    for name, action, files in (("parent_train", "train", ["model_epoch_000_step_00004.pth"]),
                                ("parent_export", "export", ["model_2d.onnx", "model_3d.onnx"]),
                                ("parent_engine", "gen_trt_engine", ["engines/model_2d.engine",
                                                                     "engines/model_3d.engine"])):
        job_id = store.new_id(action) + name[-3:]
        results = store.job_dir(job_id) / "results"
        store.create(job_id=job_id, parent_id=None, network="nvpanoptix3d", action=action, route="direct",
                     results_dir=results, results_uri=None, plan={})
        for f in files:
            (results / f).parent.mkdir(parents=True, exist_ok=True)
            (results / f).write_bytes(b"weights")
        store.update(job_id, status="done", finished=time.time(), exit_code=0)
        ids[name] = job_id
    return {"data": str(data), "ptm": str(root / "pretrained.pth"), "workspace": str(root / "ws"), **ids}


@pytest.fixture(scope="session")
def eval_world():
    """The eval harness's world builder (tests/evals and the fast-validation corpus plan the same calls)."""
    return build_eval_world
