"""``python -m nvpanoptix3d.entrypoint <action> -e spec.yaml [dotted.key=value ...]``

Actions: train, evaluate, inference, export, gen_trt_engine. Exit status: 0 success, 1 the action failed
(the reason on one line, naming the file or key), 2 the command line or the spec is invalid. Everything
is logged to the console and to ``<results_dir>/log.txt``. The encryption key is taken from the spec,
or from the TAO_SKILL_ENCRYPTION_KEY environment variable when the spec holds "***" or nothing; it is
never printed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import re
import sys
import traceback
from typing import Any, Sequence

ACTIONS = {
    "train": ("nvpanoptix3d.engine.train", "run_train"),
    "evaluate": ("nvpanoptix3d.engine.evaluate", "run_evaluate"),
    "inference": ("nvpanoptix3d.engine.inference", "run_inference"),
    "export": ("nvpanoptix3d.engine.export", "run_export"),
    "gen_trt_engine": ("nvpanoptix3d.engine.trt", "run_gen_trt_engine"),
}
EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
log = logging.getLogger("nvpanoptix3d")


def parse_value(text: str) -> Any:
    """An override value: JSON/YAML scalars and lists (``true``, ``3``, ``1e-4``, ``[1, 2]``), else the string."""
    if _NUMBER.match(text):
        return int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    import yaml  # noqa: PLC0415

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return text if value is None and text not in ("null", "~") else value


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", key.strip()):
            raise ValueError(f"override {item!r} must look like dotted.key=value (e.g. train.num_epochs=2)")
        out[key.strip()] = parse_value(value.strip())
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nvpanoptix3d.entrypoint",
                                description="NVPanoptix3D actions driven by an experiment spec.")
    p.add_argument("action", help=f"one of: {', '.join(ACTIONS)}")
    p.add_argument("-e", "--experiment_spec_file", "--experiment-spec", dest="spec", required=True,
                   help="YAML experiment spec")
    p.add_argument("overrides", nargs="*", help="dotted.key=value pairs applied on top of the spec")
    return p


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    from nvpanoptix3d.config import SpecError, load_spec  # noqa: PLC0415
    from nvpanoptix3d.engine.runtime import global_rank, results_dir_for, setup_logging  # noqa: PLC0415

    args = _parser().parse_intermixed_args(argv)
    if args.action not in ACTIONS:
        print(f"error: unknown action {args.action!r}; choose one of {', '.join(ACTIONS)}", file=sys.stderr)
        return EXIT_INVALID
    try:
        overrides = parse_overrides(args.overrides)
        spec = load_spec(args.spec, overrides)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID

    from nvpanoptix3d.data import DataError  # noqa: PLC0415
    from nvpanoptix3d.engine.errors import EngineError  # noqa: PLC0415
    from nvpanoptix3d.network.frustum3d.sparse.backend import SpconvMissingError  # noqa: PLC0415

    results_dir = None
    try:
        results_dir = results_dir_for(spec, args.action)
        setup_logging(results_dir, verbose=bool(getattr(spec.train, "verbose", False)), rank=global_rank())
        log.info("nvpanoptix3d %s: spec %s, results in %s", args.action, args.spec, results_dir)
        if overrides:
            log.info("overrides: %s", json.dumps({k: ("***" if "encryption_key" in k else v)
                                                  for k, v in overrides.items()}))
        module_name, fn_name = ACTIONS[args.action]
        run = getattr(importlib.import_module(module_name), fn_name)
        run(spec, results_dir)
        if global_rank() == 0:  # report.html of train/evaluate/inference (never fails the action)
            from nvpanoptix3d.report import report_after_action  # noqa: PLC0415

            report_after_action(spec, results_dir, args.action)
    except (EngineError, DataError, SpconvMissingError) as exc:  # SpconvMissingError: backend=spconv, no spconv
        log.error("%s failed: %s", args.action, _one_line(exc)) if log.handlers else \
            print(f"error: {args.action} failed: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print(f"error: {args.action} interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - an unexpected bug: one line on the console, traceback in log.txt
        tb = traceback.format_exc()
        where = f" (traceback in {results_dir / 'log.txt'})" if results_dir is not None else ""
        if log.handlers:
            for h in log.handlers:
                if isinstance(h, logging.FileHandler):
                    h.handle(log.makeRecord(log.name, logging.ERROR, __file__, 0, tb, None, None))
            log.error("%s failed with an unexpected %s: %s%s", args.action, type(exc).__name__, _one_line(exc), where)
        else:
            print(f"error: {args.action} failed with an unexpected {type(exc).__name__}: {_one_line(exc)}",
                  file=sys.stderr)
        if os.environ.get("NVP3D_DEBUG"):
            print(tb, file=sys.stderr)
        return EXIT_FAILED
    log.info("%s done", args.action)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
