"""Training machinery and the actions (train, evaluate, inference, export, gen_trt_engine).

This package *uses* the network (``nvpanoptix3d.network``); nn.Modules never import from here. The only
place that reads the spec to build the network is :mod:`nvpanoptix3d.engine.build`. Heavy imports
(Lightning, onnx, tensorrt) stay inside the modules that need them so ``import nvpanoptix3d.engine`` is cheap.

Modules: ``train`` / ``evaluate`` / ``inference`` / ``export`` / ``trt`` (one action each, ``run_*(spec,
results_dir)``), ``lit_module`` (LightningModule), ``callbacks`` (checkpoint I/O plugin, periodic
checkpoints, log lines), ``data`` (resumable sharded loaders), ``evaluation`` (split metrics),
``checkpoint_io`` (atomic, AES-GCM), ``status`` (status.json), ``optim``, ``runtime``, ``predict``, ``outputs``.
"""

from nvpanoptix3d.engine.errors import CheckpointError, EngineError

__all__ = ["CheckpointError", "EngineError"]
