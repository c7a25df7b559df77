"""Measuring the exported model in a separate process that never ran the student's code.

The host calls `evaluate_model`, which starts `python -m grader.evaluate REQUEST`; that process
loads the SavedModel graph (not the student's Python classes), feeds it the 10,000 test images
transformed exactly as the student's training images were, and counts convolution and pooling
operations in one forward pass of the graph.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader.models import Evaluation

CONV_OPS = {"Conv2D", "Conv3D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3DBackpropInputV2", "Conv"}
POOL_OPS = {"MaxPool", "MaxPoolV2", "AvgPool", "MaxPool3D", "AvgPool3D", "FractionalMaxPool", "FractionalAvgPool"}
BATCH = 1000


def evaluate_model(model_dir: Path, mnist_path: Path, transform: dict[str, Any], out_path: Path, timeout_s: float = 300, prefix: tuple[str, ...] = ()) -> Evaluation:
    """Run the evaluation process; its failures come back as `Evaluation.error`."""
    if not (model_dir / "saved_model.pb").is_file():
        return Evaluation(error="no exported model")
    request = {"model_dir": str(model_dir), "mnist_path": str(mnist_path), "transform": transform, "out": str(out_path)}
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(out_path.parent), "LANG": "C.UTF-8"}
    cmd = [*prefix, sys.executable, "-m", "grader.evaluate", json.dumps(request)]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return Evaluation(error=f"evaluating the model took longer than {int(timeout_s)} s")
    try:
        data = json.loads(out_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        tail = (proc.stderr or "").strip().splitlines()[-1:] or [f"exit code {proc.returncode}"]
        return Evaluation(error=f"the model could not be evaluated: {tail[0][:300]}")
    return Evaluation(
        test_accuracy=data.get("test_accuracy"),
        test_images=int(data.get("test_images", 0)),
        conv_ops=int(data.get("conv_ops", 0)),
        pool_ops=int(data.get("pool_ops", 0)),
        duration_s=float(data.get("duration_s", 0.0)),
        error=data.get("error"),
    )


def count_ops(graph_def: Any) -> collections.Counter[str]:
    """Op types of one call of the graph, following calls into library functions."""
    library = {f.signature.name: f for f in graph_def.library.function}
    counts: collections.Counter[str] = collections.Counter()

    def visit(nodes: Any, depth: int) -> None:
        for node in nodes:
            counts[node.op] += 1
            called = [node.attr[k].func.name for k in ("f", "then_branch", "body") if k in node.attr and node.attr[k].func.name]
            if node.op in library:
                called.append(node.op)
            for name in called:
                if name in library and depth < 50:
                    visit(library[name].node_def, depth + 1)

    visit(graph_def.node, 0)
    return counts


def prepare_inputs(images: Any, transform: dict[str, Any], spec_shape: list[int | None], dtype: Any) -> Any:
    """Raw uint8 test images, scaled and shaped as the student's training images were."""
    import numpy as np

    scale = float(transform.get("scale", 1 / 255)) if transform.get("known") else 1 / 255
    offset = float(transform.get("offset", 0.0)) if transform.get("known") else 0.0
    x = images.astype("float32") * np.float32(scale) + np.float32(offset)
    shape = transform.get("shape") if transform.get("known") else None
    if not shape or int(np.prod(shape)) != 784:
        shape = [d or 1 for d in spec_shape[1:]] if len(spec_shape) > 1 and None not in spec_shape[1:] else [28, 28]
    return x.reshape(-1, *shape).astype(dtype)


def _measure(request: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    started = time.perf_counter()
    loaded = tf.saved_model.load(request["model_dir"])
    serve = loaded.signatures["serving_default"]
    _, kwargs = serve.structured_input_signature
    (input_name, input_spec), = kwargs.items()
    counts = count_ops(serve.graph.as_graph_def())
    with np.load(request["mnist_path"], allow_pickle=False) as data:
        x_test, y_test = data["x_test"], data["y_test"]
    x = prepare_inputs(x_test, request["transform"], list(input_spec.shape), input_spec.dtype.as_numpy_dtype)
    correct = 0
    for start in range(0, len(x), BATCH):
        outputs = serve(**{input_name: tf.constant(x[start : start + BATCH])})
        logits = np.asarray(next(iter(outputs.values())))
        correct += int((logits.reshape(len(logits), -1).argmax(axis=1) == y_test[start : start + BATCH]).sum())
    return {
        "test_accuracy": correct / len(x),
        "test_images": len(x),
        "conv_ops": sum(counts[o] for o in CONV_OPS),
        "pool_ops": sum(counts[o] for o in POOL_OPS),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    try:
        result = _measure(request)
    except Exception as exc:  # noqa: BLE001 - any failure is reported as data
        result = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    Path(request["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
