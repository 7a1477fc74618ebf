"""`python -m nvpanoptix3d.entrypoint <action> -e spec.yaml [key=value ...]`

Exit codes: 0 done, 1 the action failed (message on one line), 2 the spec is invalid.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

import yaml

ACTIONS = ("train", "evaluate", "inference", "export", "gen_trt_engine")


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise SystemExit(f"error: override `{item}` must look like key=value")
        k, v = item.split("=", 1)
        out[k] = yaml.safe_load(v)
    return out


class _Tee:
    def __init__(self, *streams) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for s in self.streams:
            s.write(text)
        return len(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()

    def isatty(self) -> bool:
        return self.streams[0].isatty()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nvpanoptix3d.entrypoint")
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("-e", "--experiment_spec", required=True, type=Path, help="YAML spec file")
    parser.add_argument("overrides", nargs="*", help="dotted key=value overrides")
    args = parser.parse_args(argv)

    from nvpanoptix3d.config import SpecError, load_spec, resolve_secret  # noqa: PLC0415

    try:
        spec = load_spec(args.experiment_spec, _overrides(args.overrides))
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    section = getattr(spec, args.action, None)
    results = Path(getattr(section, "results_dir", "") or spec.results_dir or "results").expanduser()
    results.mkdir(parents=True, exist_ok=True)
    key = resolve_secret(spec.encryption_key)
    log = open(results / f"log_{args.action}.txt", "a", encoding="utf-8")
    sys.stdout = _Tee(sys.__stdout__, log)
    from nvpanoptix3d.data import DataError  # noqa: PLC0415
    from nvpanoptix3d.engine.actions import ACTIONS as RUN  # noqa: PLC0415
    from nvpanoptix3d.engine.checkpoint_io import CheckpointError  # noqa: PLC0415
    from nvpanoptix3d.engine.tensorrt_build import TensorRTUnavailable  # noqa: PLC0415

    print(f"nvpanoptix3d {args.action}: results in {results}", flush=True)
    try:
        RUN[args.action](spec, results.resolve(), key)
    except (DataError, CheckpointError, TensorRTUnavailable, RuntimeError, ValueError, OSError) as exc:
        if os.environ.get("TAO_SKILL_DEBUG"):
            traceback.print_exc()
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"error: {args.action} failed: {message}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print(f"{args.action} interrupted", file=sys.stderr, flush=True)
        return 130
    finally:
        sys.stdout.flush()
    print(f"nvpanoptix3d {args.action}: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
