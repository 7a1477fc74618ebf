"""Trial results live under the study's results location, so ``best_checkpoint`` is reachable from any machine.

An ``s3://`` results location (a moto server on loopback stands in for S3) gets every trial's results
uploaded to ``<location>/trials/<trial job>/`` and the history names the checkpoint by its URI (a
local location holds ``<results>/trials/<trial job>/``: checked in test_postgres.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import children, train_args


def _history(res) -> dict:
    return json.loads(Path(res.doc["kpis"]["history"]).read_text())


def test_best_checkpoint_is_an_object_in_the_s3_results_location(tao, hpo, s3, tmp_path):
    client, bucket = s3
    where = f"s3://{bucket}/automl/run2"
    res = tao(*train_args(hpo, "--max-trials", "2", "--seed", "4", "--final", "none", "--results-dir", where,
                          "--override", "train.epochs=2"))
    assert res.code == 0, res.out + res.err
    best = res.doc["kpis"]["best_checkpoint"]
    assert best and best.startswith(f"{where}/trials/{res.doc['job_id']}-t00"), best
    key = best[len(f"s3://{bucket}/"):]
    local = tmp_path / "elsewhere.pth"  # what another machine does with the URI
    client.download_file(bucket, key, str(local))
    assert json.loads(local.read_text())["epoch"] == 1  # the last epoch has the best KPI in hpotoy
    hist = _history(res)
    assert all(t["checkpoint"].startswith(f"{where}/trials/") for t in hist["trials"])
    listed = {o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="automl/run2/trials/")["Contents"]}
    assert {f"automl/run2/trials/{j['job_id']}/status.json" for j in children(tao, res.doc["job_id"])} <= listed

