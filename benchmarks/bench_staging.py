#!/usr/bin/env python3
"""Staging throughput for a prefix of many small files, against a plain sequential boto3 loop.

Starts a moto S3 server on loopback (in its own process by default, so the server does not share
the client's GIL; ``--in-process`` uses ``ThreadedMotoServer`` instead), uploads N files of S bytes
under one prefix, then times

* ``baseline``: list + one ``get_object`` per key, written to disk, one after the other;
* ``staging``: ``stage_data_sources`` on a ``folder`` input (parallel transfer manager, temp + rename,
  cache index), cold cache;
* ``restage``: the same call again (everything cached: one listing, no GetObject).

and prints files/s, MB/s and the staging/baseline ratio.

On loopback both sides are CPU-bound Python (botocore costs ~3 ms of client CPU per request, moto
about as much on the server, each held by its GIL), so on a 2-core box parallelism can at best
about halve the wall time. Real object stores answer each request after a network round trip;
``--latency-ms`` adds that wait to every request of *both* clients (a botocore ``before-send``
hook that sleeps), which is where parallel transfers pay off. Usage::

    python benchmarks/bench_staging.py [--files 500] [--size 4096] [--concurrency 16] [--latency-ms 0] [--in-process]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(in_process: bool):
    if in_process:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return f"http://{host}:{port}", server.stop
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("moto server did not start")

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="simulated round trip added to every request")
    ap.add_argument("--in-process", action="store_true", help="ThreadedMotoServer in this process")
    args = ap.parse_args()

    endpoint, stop = _start_server(args.in_process)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret", AWS_DEFAULT_REGION="us-east-1",
                      AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    try:
        import boto3
        from botocore.config import Config

        from tao_skill.staging import s3client, stage_data_sources

        def add_latency(client):
            if args.latency_ms > 0:
                client.meta.events.register("before-send.s3.*", lambda **kw: time.sleep(args.latency_ms / 1000))
            return client

        make_client = s3client.make_client
        s3client.make_client = lambda **kw: add_latency(make_client(**kw))
        s3 = boto3.session.Session().client("s3", config=Config(max_pool_connections=32))
        s3.create_bucket(Bucket="bench")
        payload = os.urandom(args.size)
        for i in range(args.files):
            s3.put_object(Bucket="bench", Key=f"ds/data/scene_{i // 50:03d}/file_{i:05d}.bin", Body=payload)
        total_mb = args.files * args.size / 1e6

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "baseline"
            add_latency(s3)  # after the upload: only the timed part pays the simulated round trip
            t0 = time.perf_counter()
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="ds/")
                    for o in page.get("Contents", [])]
            for key in keys:
                dest = out / key
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(s3.get_object(Bucket="bench", Key=key)["Body"].read())
            t_base = time.perf_counter() - t0

            inputs = {"dataset.train.base_dir": {"type": "folder"}}
            values = {"dataset.train.base_dir": "s3://bench/ds"}
            cache = Path(tmp) / "cache"
            t0 = time.perf_counter()
            local = stage_data_sources(values, inputs, cache, progress=False, max_concurrency=args.concurrency)["dataset.train.base_dir"]
            t_stage = time.perf_counter() - t0
            n = sum(1 for p in Path(local).rglob("*") if p.is_file())
            assert n == args.files, f"staged {n} of {args.files} files"
            t0 = time.perf_counter()
            stage_data_sources(values, inputs, cache, progress=False, max_concurrency=args.concurrency)
            t_restage = time.perf_counter() - t0
    finally:
        stop()

    def row(name: str, seconds: float) -> str:
        return f"{name:<9} {seconds:7.2f} s  {args.files / seconds:8.0f} files/s  {total_mb / seconds:6.2f} MB/s"

    where = "in-process ThreadedMotoServer" if args.in_process else "moto server subprocess"
    print(f"{args.files} files x {args.size} B under one prefix, {where} on loopback, {os.cpu_count()} CPUs, "
          f"concurrency {args.concurrency}, simulated latency {args.latency_ms:g} ms/request")
    print(row("baseline", t_base) + "   (sequential boto3 list + get_object loop)")
    print(row("staging", t_stage) + "   (stage_data_sources, cold cache)")
    print(row("restage", t_restage) + "   (everything cached: listing only)")
    print(f"speed-up staging/baseline: {t_base / t_stage:.2f}x; cached re-stage: {t_base / t_restage:.1f}x")


if __name__ == "__main__":
    main()
