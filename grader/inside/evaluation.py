"""The evaluation process: `python -m grader.inside.evaluation`, started in the sandbox by the host's
`grader.run.evaluate.Evaluator`. It never runs the student's code: it audits the SavedModel's graph,
loads it, and measures it on the images the host writes to its stdin (`grader.inside.wire`)."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from grader.inside import graph_audit
from grader.inside.wire import close_stdin, read_arrays

BATCH = 1000


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


def _measure(request: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    started = time.perf_counter()
    saved_model = graph_audit.read_saved_model(request["model_dir"])
    refused = graph_audit.audit(saved_model)
    if refused:  # nothing of the graph runs, not even its loading
        return {"disallowed_ops": list(refused)}  # the host says so, in the result's language
    layers = graph_audit.count_serving(saved_model)
    loaded = tf.saved_model.load(request["model_dir"])
    serve = loaded.signatures["serving_default"]
    _, kwargs = serve.structured_input_signature
    (input_name, input_spec), = kwargs.items()
    shape, dtype = list(input_spec.shape), input_spec.dtype.as_numpy_dtype

    def outputs(images: Any) -> Any:
        x = prepare_inputs(images, request["transform"], shape, dtype)
        parts = []
        for start in range(0, len(x), BATCH):
            out = np.asarray(next(iter(serve(**{input_name: tf.constant(x[start : start + BATCH])}).values())))
            parts.append(out.reshape(len(out), -1))
        return np.concatenate(parts)

    train = outputs(arrays["x_train"])
    return {
        "heldout_accuracy": accuracy(outputs(arrays["x_heldout"]), arrays["y_heldout"]),
        "heldout_images": len(arrays["x_heldout"]),
        "shifted_accuracy": accuracy(outputs(arrays["x_shifted"]), arrays["y_shifted"]),
        "test_accuracy": accuracy(outputs(arrays["x_test"]), arrays["y_test"]),
        "test_images": len(arrays["x_test"]),
        "train_accuracy": accuracy(train, arrays["y_train"]),
        "train_loss": cross_entropy(train, arrays["y_train"]),
        "train_images": len(arrays["x_train"]),
        "conv_ops": layers.conv,
        "pool_ops": layers.pool,
        "unclassified_ops": list(layers.unclassified),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def accuracy(outputs: Any, labels: Any) -> float:
    """The share of rows whose largest output is at the label."""
    return float((outputs.argmax(axis=1) == labels).mean()) if len(labels) else 0.0


def cross_entropy(outputs: Any, labels: Any) -> float | None:
    """The sparse categorical cross-entropy of the outputs, read as probabilities where they are
    (rows of non-negative numbers summing to 1, clipped as Keras clips them), else as logits; None
    where it cannot be computed (fewer outputs than classes, non-finite numbers)."""
    import numpy as np

    if not len(labels) or outputs.shape[1] <= int(labels.max()):
        return None
    p = outputs.astype("float64")
    if not np.isfinite(p).all():
        return None
    rows = np.arange(len(p))
    if p.min() >= -1e-6 and p.max() <= 1 + 1e-6 and np.abs(p.sum(axis=1) - 1).max() <= 1e-3:
        return float(-np.log(np.clip(p[rows, labels], 1e-7, 1 - 1e-7)).mean())
    shifted = p - p.max(axis=1, keepdims=True)
    return float((np.log(np.exp(shifted).sum(axis=1)) - shifted[rows, labels]).mean())


def main(argv: list[str]) -> int:
    """`python -m grader.inside.evaluation`: its stdin carries the token, then the held-out and public test
    images (`grader.inside.wire.write_arrays`), read while TensorFlow is imported; then, once the
    kernel is gone, a line naming the model followed by the training images the grader chose (an
    empty line instead: nothing to do). stdin is then closed, the model loaded and measured, and
    the answer written to stdout after the token; the process exits at once."""
    stdin = sys.stdin.buffer
    token = stdin.readline(1024).decode("ascii", "replace").strip()  # read before any model exists
    arrays: dict[str, Any] = {}
    problem = None
    try:
        arrays.update(read_arrays(stdin))
    except (OSError, ValueError) as exc:
        problem = str(exc) or type(exc).__name__
    import tensorflow  # noqa: F401 - what needs no model is done while the kernel runs

    line = stdin.readline(1 << 20)
    if not line.strip():
        return 0
    try:
        request = json.loads(line)
        if problem is None:
            arrays.update(read_arrays(stdin))
        close_stdin()  # nothing of the host's pipe is left for the graph to read
        result = {"error": problem, "error_key": "images"} if problem else _measure(request, arrays)
    except Exception as exc:  # noqa: BLE001 - any failure is reported as data
        result = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    sys.stdout.flush()
    os.write(1, f"\n{token}{json.dumps(result)}\n".encode())
    os._exit(0)  # the answer is out: skip TensorFlow's teardown, which the host would wait for


if __name__ == "__main__":
    sys.exit(main(sys.argv))
