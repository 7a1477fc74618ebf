"""`tao-skill mcp` through the official SDK's own client session, in-process: the tools, their annotations,
and that each returns the CLI's JSON document (errors: the CLI's error document, isError)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import anyio
import pytest
from mcp.shared.memory import create_connected_server_and_client_session

from tao_skill.jobs import JobStore
from tao_skill.mcp import TOOLS, build_server

REPO = Path(__file__).resolve().parents[2]
TOY = REPO / "tests" / "fixtures" / "toy_skill"


def _call_all(workspace: Path, calls: list[tuple[str, dict]], skill_dir: Path | None = None):
    """Open one client session and make every call; returns (tools, [(name, result), ...])."""

    async def main():
        server = build_server(workspace, skill_dir)
        async with create_connected_server_and_client_session(server._mcp_server) as client:
            tools = (await client.list_tools()).tools
            results = []
            for name, args in calls:
                results.append((name, await client.call_tool(name, args)))
            return tools, results

    return anyio.run(main)


def _doc(result) -> dict:
    text = json.loads(result.content[0].text)
    assert result.structuredContent == text
    return text


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("TAO_SKILL_KEY", raising=False)
    data = tmp_path / "data"
    for rel in ("meta/frustum_mask.npz", "meta/colormap.json", "meta/train.json", "meta/val.json", "meta/test.json"):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).write_bytes(b"x")
    store = JobStore(tmp_path / "ws")
    job_id = store.new_id("train")
    results = store.job_dir(job_id) / "results"
    store.create(job_id=job_id, parent_id=None, network="nvpanoptix3d", action="train", route="direct",
                 results_dir=results, results_uri=None, plan={})
    results.mkdir(parents=True)
    (results / "model_epoch_000_step_00004.pth").write_bytes(b"w")
    store.update(job_id, status="done", finished=time.time(), exit_code=0)
    (store.job_dir(job_id) / "log.txt").write_text("line 1\nline 2\nfinished\n")
    return {"ws": tmp_path / "ws", "data": str(data), "job": job_id}


def test_tools_annotations_and_every_read_tool(world):
    train = {"network": "nvpanoptix3d", "action": "train", "train_dataset": world["data"],
             "eval_dataset": world["data"], "request": "关闭AutoML，训练20个epoch", "overrides": ["num_epochs=20"]}
    calls = [
        ("list_skills", {}),
        ("describe", {"network": "nvpanoptix3d", "action": "gen_trt_engine"}),
        ("validate", {**{k: v for k, v in train.items() if k != "request"}}),
        ("plan", train),
        ("plan", {**train, "request": None, "params": ["model.mask_former.num_object_queries=50,100"]}),
        ("plan", {**train, "overrides": ["train.num_epoch=20"]}),
        ("job_status", {"job_id": world["job"]}),
        ("job_logs", {"job_id": world["job"], "tail": 1}),
        ("jobs_list", {}),
        ("job_status", {"job_id": "no-such-job"}),
        ("automl_status", {"job_id": world["job"]}),
    ]
    tools, results = _call_all(world["ws"], calls)
    by_name = {t.name: t for t in tools}
    assert set(by_name) == set(TOOLS)
    for name, tool in by_name.items():
        ann = tool.annotations
        assert ann.readOnlyHint is (TOOLS[name][1].readOnlyHint), name
        assert tool.description and tool.inputSchema["type"] == "object"
    assert by_name["job_cancel"].annotations.destructiveHint is True
    assert by_name["run"].annotations.readOnlyHint is False and by_name["run"].annotations.destructiveHint is False
    assert {n for n, t in by_name.items() if t.annotations.readOnlyHint} == \
        {"list_skills", "describe", "validate", "plan", "job_status", "job_logs", "job_wait", "jobs_list", "automl_status"}

    docs = [(name, r, _doc(r)) for name, r in results]
    (_, r, listed), (_, _, desc), (_, _, valid), (_, _, plan), (_, _, automl), (_, bad_r, bad), \
        (_, _, status), (_, _, logs), (_, _, jobs), (_, missing_r, missing), (_, automl_r, automl_bad) = docs
    assert not r.isError and listed["skills"][0]["network"] == "nvpanoptix3d"
    assert desc["actions"]["gen_trt_engine"]["keys"]["gen_trt_engine.tensorrt.data_type"]["enum"] == ["FP32", "FP16"]
    assert valid["ok"] is True and valid["spec"]["train"]["num_epochs"] == 20
    assert (plan["route"], plan["automl_policy"], plan["dry_run"]) == ("direct", "off", True)
    assert plan["spec"]["dataset"]["train"]["json_path"] == world["data"] + "/meta/train.json"
    assert automl["route"] == "automl"
    assert {p["key"]: p.get("choices") for p in automl["automl"]["search_space"]}[
        "model.mask_former.num_object_queries"] == [50, 100]
    assert bad_r.isError and bad["ok"] is False and bad["exit_code"] == 2
    assert bad["errors"][0]["key"] == "train.num_epoch" and bad["errors"][0]["suggestion"] == "train.num_epochs"
    assert status["job_id"] == world["job"] and status["status"] == "done"
    assert logs["log"].strip() == "finished"
    assert [j["job_id"] for j in jobs["jobs"]] == [world["job"]]
    assert missing_r.isError and missing["ok"] is False and missing["errors"][0]["message"]
    assert automl_r.isError and automl_bad["ok"] is False  # a direct train job has no study


def test_run_detached_then_wait_logs_and_cancel(tmp_path, monkeypatch):
    """`run` returns the job id at once (run --detach); wait/logs/status follow it; cancel stops one."""
    import shutil

    skill = tmp_path / "toy_skill"
    shutil.copytree(TOY, skill, ignore=shutil.ignore_patterns("__pycache__"))
    data = tmp_path / "data"
    (data / "meta").mkdir(parents=True)
    (data / "images").mkdir()
    (data / "labels.json").write_text("{}")
    (data / "meta" / "val.json").write_text("{}")
    (data / "images" / "a.png").write_bytes(b"png")
    monkeypatch.setenv("TAO_SKILL_WORKSPACE", str(tmp_path / "ws"))
    args = {"network": "toyseg", "action": "train", "train_dataset": str(data), "eval_dataset": str(data),
            "automl_policy": "off", "overrides": ["train.epochs=2"]}

    async def main():
        server = build_server(tmp_path / "ws", skill)
        async with create_connected_server_and_client_session(server._mcp_server) as client:
            started = _doc(await client.call_tool("run", args))
            waited = await client.call_tool("job_wait", {"job_id": started["job_id"], "timeout_s": 120})
            logs = _doc(await client.call_tool("job_logs", {"job_id": started["job_id"], "tail": 0}))
            slow = _doc(await client.call_tool("run", {**args, "overrides": ["train.epochs=2",
                                                                               "train.sleep_s=30"]}))
            cancel_r = await client.call_tool("job_cancel", {"job_id": slow["job_id"]})
            status = _doc(await client.call_tool("job_status", {"job_id": slow["job_id"]}))
            return started, waited, logs, slow, cancel_r, status

    started, waited, logs, slow, cancel_r, status = anyio.run(main)
    assert started["ok"] is True and started["detached"] is True and started["job_id"]
    assert not waited.isError, waited.content[0].text
    assert _doc(waited)["status"] == "done"
    assert isinstance(logs["log"], str)
    assert not cancel_r.isError and _doc(cancel_r)["status"] == "canceled"
    assert status["status"] == "canceled"


def test_tao_skill_mcp_over_stdio(tmp_path):
    """The installed command serves the same tools over stdio (the transport agents start it with)."""
    import sys

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[
        "-c", "import sys; from tao_skill.cli import main; sys.exit(main())", "mcp", "--workspace", str(tmp_path / "ws")],
        env={**os.environ})

    async def main():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            names = {t.name for t in (await client.list_tools()).tools}
            listed = await client.call_tool("list_skills", {})
            return names, listed

    names, listed = anyio.run(main)
    assert names == set(TOOLS)
    assert not listed.isError and _doc(listed)["skills"][0]["network"] == "nvpanoptix3d"


@pytest.mark.slow
def test_tao_skill_mcp_over_streamable_http(tmp_path):
    """`--transport streamable-http` serves the same tools on HOST:PORT/mcp."""
    import socket
    import subprocess
    import sys

    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from tao_skill.cli import main; sys.exit(main())",
                             "mcp", "--transport", "streamable-http", "--port", str(port), "--workspace",
                             str(tmp_path / "ws")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def main():
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await anyio.sleep(0.2)
        async with streamablehttp_client(f"http://127.0.0.1:{port}/mcp") as (read, write, _), \
                ClientSession(read, write) as client:
            await client.initialize()
            return {t.name for t in (await client.list_tools()).tools}, await client.call_tool("list_skills", {})

    try:
        names, listed = anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert names == set(TOOLS)
    assert _doc(listed)["skills"][0]["network"] == "nvpanoptix3d"
