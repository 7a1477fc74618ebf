"""Training machinery and the actions (train, evaluate, inference, export, gen_trt_engine).

This package *uses* the network (``nvpanoptix3d.network``); nn.Modules never import from here. The only
place that reads the spec to build the network is :mod:`nvpanoptix3d.engine.build`. Heavy imports
(Lightning, onnx, tensorrt) stay inside the modules that need them so ``import nvpanoptix3d.engine`` is cheap.
"""

from nvpanoptix3d.engine.errors import EngineError

__all__ = ["EngineError"]
