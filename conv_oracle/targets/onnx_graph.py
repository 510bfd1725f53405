"""One-node ONNX graphs (``Conv`` / ``ConvTranspose``, optionally behind a ``Pad``) as ONNX Runtime
sessions, and the probe of which float dtypes this build's CPU kernels run. Imports neither torch nor
conv_oracle's targets, so the probe's child interpreter starts in a fraction of a second."""

from __future__ import annotations

import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

OPSET = 22
ONNX_DTYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16}


def session(op: str, dtype: str, rank: int, has_bias: bool, attrs: tuple, pad: tuple | None, threads: int):
    """An inference session for one node ``op`` with ``attrs`` (``(name, value)`` pairs; and a Pad node
    ``pad = (mode, pads)``) on inputs X, W (and B) of ``dtype``, run with ``threads`` intra-op threads."""
    elem = ONNX_DTYPES[dtype]
    inputs = [helper.make_tensor_value_info(n, elem, [None] * rank) for n in ("X", "W")]
    if has_bias:
        inputs.append(helper.make_tensor_value_info("B", elem, [None]))
    nodes, initializers, source = [], [], "X"
    if pad is not None:
        mode, pads = pad
        initializers.append(numpy_helper.from_array(np.array(pads, dtype=np.int64), "pads"))
        nodes.append(helper.make_node("Pad", ["X", "pads"], ["XP"], mode=mode))
        source = "XP"
    node_attrs = {k: list(v) if isinstance(v, tuple) else v for k, v in attrs}
    nodes.append(helper.make_node(op, [source, "W"] + (["B"] if has_bias else []), ["Y"], **node_attrs))
    graph = helper.make_graph(nodes, op, inputs, [helper.make_tensor_value_info("Y", elem, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 10
    options = ort.SessionOptions()
    options.log_severity_level = 4  # errors come back as exceptions; no duplicate log lines
    options.intra_op_num_threads = threads
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


def probe(dtype: str) -> None:
    """Run a 2-D Conv and ConvTranspose in ``dtype`` (1x1 kernel on a 2x2 input); raises where this build
    has no CPU kernel for it. Meant for a child interpreter: a session starts ONNX Runtime's threads,
    and a process that forks isolation workers must not have them."""
    x, w = np.ones((1, 1, 2, 2), dtype=dtype), np.ones((1, 1, 1, 1), dtype=dtype)
    for op in ("Conv", "ConvTranspose"):
        attrs = (("dilations", (1, 1)), ("group", 1), ("pads", (0, 0, 0, 0)), ("strides", (1, 1)))
        session(op, dtype, 4, False, attrs, None, 1).run(None, {"X": x, "W": w})


if __name__ == "__main__":
    probe(sys.argv[1])
