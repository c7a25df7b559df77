"""Measuring the exported model in a separate process that never ran the student's code.

The host starts an `Evaluator`, which runs `python -m grader.evaluate REQUEST` in the sandbox;
that process loads the SavedModel graph (not the student's Python classes), feeds it the 10,000 test
images transformed exactly as the student's training images were (and 10,000 training images, to
check the training accuracy the kernel recorded), and counts convolution and pooling operations in
one forward pass of the graph.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from grader.models import Evaluation
from grader.sandbox import Run, Sandbox
from grader.sandbox_output import OutputSink

CONV_OPS = {"Conv2D", "Conv3D", "DepthwiseConv2dNative", "Conv2DBackpropInput", "Conv3DBackpropInputV2", "Conv"}
POOL_OPS = {"MaxPool", "MaxPoolV2", "AvgPool", "MaxPool3D", "AvgPool3D", "FractionalMaxPool", "FractionalAvgPool"}
BATCH = 1000
TRAIN_SAMPLE = 10_000  # training images measured too, to check the accuracy the kernel recorded


class Evaluator:
    """The evaluation process: it imports TensorFlow and loads the images as soon as it starts, then
    waits, idle, until `measure` hands it the exported model (or `close`). Started before the
    kernel, that work overlaps the training. It runs as a uid of its own: the kernel's end, which
    kills every process of the kernel's uid, leaves it alone, and the kernel cannot reach it.

    It runs in `sandbox` (the graph is the student's) and answers on its stdout, on a line that
    starts with a token it read from its stdin before any model existed: the graph it runs can
    write files and print, but cannot know the token, so it cannot forge the answer.
    """

    def __init__(self, mnist_path: Path, prefix: tuple[str, ...] = (), sandbox: Sandbox | None = None) -> None:
        self.token = secrets.token_hex(16)
        self.sandbox = sandbox
        self.run: Run | None = None
        self.inbox: Path | None = None  # under a sandbox: the only folder of the grading it can see
        request = {"mnist_path": str(mnist_path), "warm": True}
        argv = [*prefix, sys.executable, "-m", "grader.evaluate", json.dumps(request)]
        if sandbox is None:
            self.scratch, cmd = Path(tempfile.mkdtemp(prefix="grader-eval-")), argv
        else:
            self.run = sandbox.new_run("evaluation", own_uid=True)
            self.scratch, self.inbox = sandbox.writable_dir("eval", self.run), sandbox.writable_dir("eval-model", self.run)
            cmd = sandbox.command(self.run, argv, cwd=self.scratch, readable=[self.inbox, mnist_path])
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(self.scratch), "LANG": "C.UTF-8"}
        self.out, self.err = OutputSink(keep_head=1 << 20, keep_tail=1 << 20), OutputSink()
        try:
            self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                cmd, env=env, cwd=self.scratch, stdin=subprocess.PIPE, stdout=self.out.write_fd, stderr=self.err.write_fd, start_new_session=True
            )
        except OSError as exc:
            self.proc, self.start_error = None, f"the evaluation could not start: {exc}"
            self.out.finish(), self.err.finish()
            return
        if self.run:
            self.run.attach(self.proc.pid)
        self.out.started(), self.err.started()
        self._send(self.token)

    def _send(self, line: str) -> None:
        try:
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(f"{line}\n".encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def measure(self, model_dir: Path, transform: dict[str, Any], timeout_s: float = 300) -> Evaluation:
        """Evaluate the model the kernel exported into `model_dir`; failures are `Evaluation.error`."""
        if self.proc is None:
            return Evaluation(error=self.start_error)
        problem = unsafe_tree(model_dir)
        if problem:
            return Evaluation(error=problem)
        if not (model_dir / "saved_model.pb").is_file():
            return Evaluation(error="no exported model")
        try:
            model_dir = self._hand_over(model_dir)
        except OSError as exc:
            return Evaluation(error=f"the exported model could not be handed to the evaluation: {exc.strerror}")
        self._send(json.dumps({"model_dir": str(model_dir), "transform": transform}))
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return Evaluation(error=f"evaluating the model took longer than {int(timeout_s)} s")
        finally:
            self.close()
        data = _answer(self.out, self.token)
        if data is None:
            if self.run and self.run.oom_killed():
                return Evaluation(error=f"the evaluation ran out of memory (limit {self.run.sandbox.limits.memory_mb} MB)")
            tail = self.err.text().strip().splitlines()[-1:] or [f"exit code {self.proc.returncode}"]
            return Evaluation(error=f"the model could not be evaluated: {tail[0][:300]}")
        try:
            return Evaluation(
                test_accuracy=_fraction(data.get("test_accuracy")),
                test_images=int(data.get("test_images", 0)),
                conv_ops=int(data.get("conv_ops", 0)),
                pool_ops=int(data.get("pool_ops", 0)),
                duration_s=float(data.get("duration_s", 0.0)),
                error=str(data["error"])[:1000] if data.get("error") is not None else None,
                train_accuracy=_fraction(data.get("train_accuracy")),
            )
        except (TypeError, ValueError) as exc:
            return Evaluation(error=f"the evaluation's answer was malformed: {exc}")

    def _hand_over(self, model_dir: Path) -> Path:
        """Move the model into the folder the evaluation can read (its only view of the grading);
        with a uid of its own, make it the owner, whatever modes the kernel gave the files. Called
        once no process of the kernel's uid is left, on a tree of folders and singly linked files."""
        if self.inbox is None or self.run is None:
            return model_dir
        target, uid = self.inbox / "model", self.run.uid
        os.rename(model_dir, target)
        if uid is None:
            return target  # the kernel's own user: nothing to give, and its processes may outlive it
        paths = [(str(target), 0o700)]
        for folder, dirs, files in os.walk(target):  # top-down: root may list any folder
            paths += [(os.path.join(folder, d), 0o700) for d in dirs] + [(os.path.join(folder, f), 0o600) for f in files]
        for path, mode in paths:
            os.lchown(path, uid, uid)
            os.chmod(path, mode)
        return target

    def close(self) -> None:
        """Stop the process (idempotent): every process it started is gone afterwards."""
        if self.proc is None:
            return
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.run:
            self.run.kill()
        elif self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.out.finish(), self.err.finish()
        if self.sandbox is None:
            shutil.rmtree(self.scratch, ignore_errors=True)


def _answer(out: OutputSink, token: str) -> dict[str, Any] | None:
    """The last line of the process's stdout that carries the token, as JSON."""
    found = None
    for part in ("head", "tail"):
        for line in out.text(part).splitlines():
            if line.startswith(token):
                try:
                    value = json.loads(line[len(token) :])
                except json.JSONDecodeError:
                    continue
                found = value if isinstance(value, dict) else found
    return found


def _fraction(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(f"{number} is not a fraction")
    return number


def unsafe_tree(root: Path) -> str | None:
    """Why the folder the sandbox wrote must not be read by the host, or None: a symbolic link or a
    special file could make the host (or the evaluation's mounts) read something else, and a hard
    link is another name of a file outside (handing the model over would give that file away)."""
    try:
        if root.is_symlink():
            return "the exported model folder is a symbolic link"
        for folder, dirs, files in os.walk(root, followlinks=False):
            for name in [*dirs, *files]:
                info = os.lstat(os.path.join(folder, name))
                if stat.S_ISDIR(info.st_mode):
                    continue
                if not stat.S_ISREG(info.st_mode):
                    return f"the exported model contains a link or special file ({name})"
                if info.st_nlink > 1:
                    return f"the exported model contains a hard link ({name})"
    except OSError as exc:
        return f"the exported model could not be read: {exc.strerror}"
    return None


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


def train_rows(transform: dict[str, Any]) -> int:
    """How many training images to measure the model on: the ones the student trained on, when
    `fit` got the first n raw images in order (a subset is then judged on itself), else a sample."""
    rows = transform.get("rows") if transform.get("exact") else None
    return min(int(rows), TRAIN_SAMPLE) if isinstance(rows, int) and rows > 0 else TRAIN_SAMPLE


def load_arrays(mnist_path: str) -> dict[str, Any]:
    """The test set and the first `TRAIN_SAMPLE` training images, from the grader's store."""
    import numpy as np

    with np.load(mnist_path, allow_pickle=False) as data:
        return {"x_test": data["x_test"], "y_test": data["y_test"], "x_train": data["x_train"][:TRAIN_SAMPLE], "y_train": data["y_train"][:TRAIN_SAMPLE]}


def _measure(request: dict[str, Any], arrays: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import tensorflow as tf

    started = time.perf_counter()
    loaded = tf.saved_model.load(request["model_dir"])
    serve = loaded.signatures["serving_default"]
    _, kwargs = serve.structured_input_signature
    (input_name, input_spec), = kwargs.items()
    counts = count_ops(serve.graph.as_graph_def())
    x_test, y_test = arrays["x_test"], arrays["y_test"]
    rows = train_rows(request["transform"])
    x_train, y_train = arrays["x_train"][:rows], arrays["y_train"][:rows]
    shape, dtype = list(input_spec.shape), input_spec.dtype.as_numpy_dtype

    def accuracy(images: Any, labels: Any) -> float:
        x = prepare_inputs(images, request["transform"], shape, dtype)
        correct = 0
        for start in range(0, len(x), BATCH):
            outputs = serve(**{input_name: tf.constant(x[start : start + BATCH])})
            logits = np.asarray(next(iter(outputs.values())))
            correct += int((logits.reshape(len(logits), -1).argmax(axis=1) == labels[start : start + BATCH]).sum())
        return correct / len(x)

    return {
        "test_accuracy": accuracy(x_test, y_test),
        "train_accuracy": accuracy(x_train, y_train),
        "test_images": len(x_test),
        "conv_ops": sum(counts[o] for o in CONV_OPS),
        "pool_ops": sum(counts[o] for o in POOL_OPS),
        "duration_s": round(time.perf_counter() - started, 3),
    }


def main(argv: list[str]) -> int:
    """`python -m grader.evaluate REQUEST`: the token comes first on stdin; a warm process then
    imports TensorFlow, loads the images and waits for a second line naming the model (none:
    nothing to do). The answer goes to stdout after the token (or to REQUEST's "out" file, when
    run by hand), and the process exits at once."""
    request = json.loads(argv[1])
    token = "" if request.get("out") else sys.stdin.readline().strip()  # read before any model exists
    arrays = None
    if request.get("warm"):  # what needs no model is done while the kernel runs: imports and data
        import tensorflow  # noqa: F401

        with contextlib.suppress(Exception):  # a failure recurs, and is reported, below
            arrays = load_arrays(request["mnist_path"])
        line = sys.stdin.readline()
        if not line.strip():
            return 0
        request = {**request, **json.loads(line)}
    try:
        result = _measure(request, arrays or load_arrays(request["mnist_path"]))
    except Exception as exc:  # noqa: BLE001 - any failure is reported as data
        result = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    if request.get("out"):
        Path(request["out"]).write_text(json.dumps(result), encoding="utf-8")
    else:
        sys.stdout.flush()
        os.write(1, f"\n{token}{json.dumps(result)}\n".encode())
        os._exit(0)  # the answer is out: skip TensorFlow's teardown, which the host would wait for
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
