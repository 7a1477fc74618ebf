"""A static check of an ONNX graph against the ONNX-TensorRT parser's documented limits (TensorRT 10).

gen_trt_engine can only run where TensorRT and a GPU are; this check runs anywhere, so export reports a
graph TensorRT would reject (an unsupported op, a NonZero on booleans, a TopK with K >= 3840, ...) at once.
Facts from onnx-tensorrt's ``docs/operators.md``; only the limits our models can meet are listed.
"""

from __future__ import annotations

from pathlib import Path

# Operators the parser rejects ("N" in the support matrix).
UNSUPPORTED = frozenset("""AffineGrid Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow
CenterCropPad Compress ConcatFromSequence ConvInteger DFT Det DynamicQuantizeLinear HammingWindow HannWindow
ImageDecoder MatMulInteger MaxRoiPool MaxUnpool MelWeightMatrix Multinomial NegativeLogLikelihoodLoss Optional
OptionalGetElement OptionalHasElement QLinearConv QLinearMatMul RegexFullMatch STFT SequenceAt SequenceConstruct
SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap SoftmaxCrossEntropyLoss SplitToSequence
StringConcat StringNormalizer StringSplit TfIdfVectorizer Unique""".split())
FLOAT_ONLY = {"NonZero": ("FLOAT", "FLOAT16"), "CumSum": ("FLOAT", "FLOAT16", "BFLOAT16")}
TOPK_MAX = 3840  # K must be below this


def _constant_values(graph) -> dict[str, list[int]]:
    from onnx import numpy_helper  # noqa: PLC0415

    values = {t.name: numpy_helper.to_array(t).reshape(-1).tolist() for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            values[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).reshape(-1).tolist()
    return values


def tensorrt_problems(model_or_path) -> list[str]:
    """One line per node TensorRT's ONNX parser would reject; empty when none is known."""
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, shape_inference  # noqa: PLC0415

    model = model_or_path
    if isinstance(model_or_path, (str, Path)):
        model = onnx.load(str(model_or_path), load_external_data=False)
    graph = shape_inference.infer_shapes(model).graph
    types = {v.name: TensorProto.DataType.Name(v.type.tensor_type.elem_type)
             for v in [*graph.value_info, *graph.input, *graph.output]}
    types.update({t.name: TensorProto.DataType.Name(t.data_type) for t in graph.initializer})
    consts = _constant_values(graph)
    problems = []
    for node in graph.node:
        where = f"{node.op_type} node {node.name or node.output[0]}"
        if node.op_type in UNSUPPORTED:
            problems.append(f"{where}: operator not supported by TensorRT")
        allowed = FLOAT_ONLY.get(node.op_type)
        if allowed and types.get(node.input[0]) not in allowed:
            problems.append(f"{where}: input type {types.get(node.input[0], 'unknown')}, TensorRT takes "
                            f"{'/'.join(allowed)}")
        if node.op_type in ("ScatterND", "ScatterElements"):
            reduction = next((a.s.decode() for a in node.attribute if a.name == "reduction"), "none")
            if reduction != "none":
                problems.append(f"{where}: reduction={reduction} is not supported by TensorRT")
        if node.op_type == "TopK":
            k = consts.get(node.input[1])
            if k is None or k[0] >= TOPK_MAX:
                problems.append(f"{where}: K={'dynamic' if k is None else k[0]}, TensorRT needs a constant K < "
                                f"{TOPK_MAX}")
    return problems


def report_tensorrt_problems(path: str | Path, log) -> list[str]:
    """:func:`tensorrt_problems` of an ONNX file, logged (a warning naming the first nodes, or one info line)."""
    problems = tensorrt_problems(path)
    if problems:
        log.warning("%s has %d node(s) outside TensorRT's documented ONNX support; gen_trt_engine may fail: %s",
                    path, len(problems), "; ".join(problems[:5]))
    else:
        log.info("%s: no operator outside TensorRT's documented ONNX support", Path(path).name)
    return problems


__all__ = ["report_tensorrt_problems", "tensorrt_problems"]
