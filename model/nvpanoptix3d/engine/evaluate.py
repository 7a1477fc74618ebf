"""The ``evaluate`` action: metrics of a checkpoint on ``dataset.val`` or ``dataset.test``.

Writes ``status.json`` (one entry: KPIs, per-class values), ``evaluation.json`` (the same, standalone)
and ``evaluation.txt`` (a readable per-class table), and logs the table.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from nvpanoptix3d.engine.evaluation import Evaluator, format_table, settings_from_spec
from nvpanoptix3d.engine.fsutil import atomic_write_json, atomic_write_text
from nvpanoptix3d.engine.predict import load_for_prediction, run_model, to_device
from nvpanoptix3d.engine.progress import StepProgress
from nvpanoptix3d.engine.status import StatusFile

log = logging.getLogger("nvpanoptix3d")


def class_names(spec: Any) -> dict[int, str]:
    from nvpanoptix3d.data import FRONT3D_CATEGORIES, load_colormap  # noqa: PLC0415

    cats = load_colormap(spec.dataset.label_map) if spec.dataset.label_map else FRONT3D_CATEGORIES
    return {c.id: c.name for c in cats}


def run_evaluate(spec: Any, results_dir: Path) -> dict[str, Any]:
    from nvpanoptix3d.engine.data import ShardedEvalLoader, split_dataset  # noqa: PLC0415

    ev = spec.evaluate
    status = StatusFile(results_dir, action="evaluate", metric="PRQ" if spec.dataset.enable_3d else "PQ")
    status.write()
    try:
        model, stage, meta, device = load_for_prediction(spec, "evaluate",
                                                         stage="3d" if spec.dataset.enable_3d else "2d")
        split = ev.split
        dataset = split_dataset(spec, split)
        bs = ev.batch_size if ev.batch_size > 0 else getattr(spec.dataset, split).batch_size
        loader = ShardedEvalLoader(dataset, batch_size=bs, num_workers=getattr(spec.dataset, split).num_workers)
        evaluator = Evaluator(settings_from_spec(spec, stage))
        log.info("evaluating %s stage on dataset.%s (%d images) on %s", stage, split, len(dataset), device)
        progress = StepProgress("evaluate", len(loader))  # TAO_PROGRESS lines when the runner asks
        for i, batch in enumerate(loader):
            outputs = run_model(model, stage, to_device(batch, device))
            evaluator.update(batch, outputs)
            progress.update(i + 1)
            if (i + 1) % 10 == 0:
                log.info("evaluated %d/%d batches", i + 1, len(loader))
        result = evaluator.compute()
    except BaseException as exc:
        status.finish("failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        raise
    table = format_table(result, class_names(spec))
    status.add_entry(epoch=meta["epoch"], step=meta["step"], kpi=result["kpi"], per_class=result["per_class"])
    status.finish("done")
    atomic_write_json(results_dir / "evaluation.json", dict(result, checkpoint=meta["path"], split=split, stage=stage,
                                                            runtime=meta.get("runtime", "pytorch")))
    atomic_write_text(results_dir / "evaluation.txt", table + "\n")
    log.info("evaluation of %s on dataset.%s:\n%s", meta["path"], split, table)
    return result
