"""Measuring the exported model in a separate process that never ran the student's code.

The host starts an `Evaluator`, which runs `python -m grader.evaluate` in the sandbox; that process
loads the SavedModel graph (not the student's Python classes), feeds it images transformed exactly
as the student's training images were, and counts convolution and pooling operations in one forward
pass of the graph. It measures the accuracy on the 5,000 held-out test images the kernel never
had (`grader.heldout`: what `test_accuracy` judges), on the public test set (for information), and
the accuracy and cross-entropy on a sample of the training images that the grader chooses (to check
the record), and on the held-out images again, each shifted by a pixel in a direction drawn at this
grading (`grader.heldout.perturbed`: a model that looks images up in a table of them fails there). Every image reaches it through its stdin, never as a path the graph could open.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from grader.heldout import HeldOut, close_stdin, perturbed, read_arrays, sample_rows, shuffled, write_arrays
from grader import graph_audit
from grader.models import Evaluation
from grader.sandbox import Run, Sandbox
from grader.sandbox_output import OutputSink, TreeTooLarge, walk_tree
from grader.untrusted import safe_text

BATCH = 1000
FEED_TIMEOUT_S = 120  # the evaluation takes its images while the kernel runs; it has this long more


class Evaluator:
    """The evaluation process: it imports TensorFlow and loads the images as soon as it starts, then
    waits, idle, until `measure` hands it the exported model (or `close`). Started before the
    kernel, that work overlaps the training; its images (the held-out rows and the public test set)
    are written to its stdin by a thread meanwhile. It runs as a uid of its own: the kernel's end, which
    kills every process of the kernel's uid, leaves it alone, and the kernel cannot reach it.

    It runs in `sandbox` (the graph is the student's) and answers on its stdout, on a line that
    starts with a token it read from its stdin before any model existed: the graph it runs can
    write files and print, but cannot know the token, so it cannot forge the answer.
    """

    def __init__(self, data: HeldOut, prefix: tuple[str, ...] = (), sandbox: Sandbox | None = None) -> None:
        self.token = secrets.token_hex(16)
        self.sandbox, self.data = sandbox, data
        self.run: Run | None = None
        self.inbox: Path | None = None  # under a sandbox: the only folder of the grading it can see
        self.training: tuple[Any, Any] | None = None  # the training set as the kernel got it
        self.feed_error: str | None = None
        argv = [*prefix, sys.executable, "-m", "grader.evaluate"]
        if sandbox is None:
            self.scratch, cmd = Path(tempfile.mkdtemp(prefix="grader-eval-")), argv
        else:
            self.run = sandbox.new_run("evaluation", own_uid=True)
            self.scratch, self.inbox = sandbox.writable_dir("eval", self.run), sandbox.writable_dir("eval-model", self.run)
            cmd = sandbox.command(self.run, argv, cwd=self.scratch, readable=[self.inbox])  # no data set file: images come on stdin
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
        self.feeder = threading.Thread(target=self._feed, name="grader-eval-feed", daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        """Write the held-out rows and the public test set to the process's stdin (it reads them
        while the kernel runs) and keep the training set for `measure`."""
        try:
            import numpy as np

            rng = np.random.default_rng(secrets.randbits(128))  # this grading's own, from the OS's entropy
            arrays = self.data.evaluation_arrays()
            arrays["x_shifted"], arrays["y_shifted"] = perturbed(arrays["x_heldout"], rng), arrays["y_heldout"]
            arrays = shuffled(arrays, rng)  # no order a graph could know, nor which shifted image is which held-out one
            self.training = self.data.training()
            assert self.proc is not None and self.proc.stdin is not None
            write_arrays(self.proc.stdin, arrays)
        except (OSError, ValueError) as exc:
            self.feed_error = f"the evaluation could not be given its images: {exc}"

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
        self.feeder.join(FEED_TIMEOUT_S)
        if self.feeder.is_alive() or self.feed_error or self.training is None:
            return Evaluation(error=self.feed_error or "the evaluation did not take its images")
        try:
            model_dir = self._hand_over(model_dir)
        except OSError as exc:
            return Evaluation(error=f"the exported model could not be handed to the evaluation: {exc.strerror}")
        self._send(json.dumps({"model_dir": str(model_dir), "transform": transform}))
        self._send_sample(transform)
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
        if data.get("heldout_accuracy") is not None and data.get("shifted_accuracy") is None:
            return Evaluation(error="the evaluation's answer was malformed: no accuracy on the shifted images")
        try:
            return Evaluation(
                test_accuracy=_fraction(data.get("test_accuracy")),
                test_images=int(data.get("test_images", 0)),
                conv_ops=int(data.get("conv_ops", 0)),
                pool_ops=int(data.get("pool_ops", 0)),
                disallowed_ops=_op_names(data.get("disallowed_ops")),
                unclassified_ops=_op_names(data.get("unclassified_ops")),
                duration_s=float(data.get("duration_s", 0.0)),
                error=str(data["error"])[:1000] if data.get("error") is not None else None,
                train_accuracy=_fraction(data.get("train_accuracy")),
                heldout_accuracy=_fraction(data.get("heldout_accuracy")),
                heldout_images=int(data.get("heldout_images", 0)),
                shifted_accuracy=_fraction(data.get("shifted_accuracy")),
                train_loss=_loss(data.get("train_loss")),
                train_images=int(data.get("train_images", 0)),
            )
        except (TypeError, ValueError) as exc:
            return Evaluation(error=f"the evaluation's answer was malformed: {exc}")

    def _send_sample(self, transform: dict[str, Any]) -> None:
        """The training images the grader chose (`grader.heldout.sample_rows`), unpredictable to
        the submission, after the line naming the model."""
        import numpy as np

        assert self.training is not None and self.proc is not None and self.proc.stdin is not None
        x, y = self.training
        rng = np.random.default_rng()
        rows = rng.permutation(sample_rows(transform, len(x), rng))  # in no order a graph could know either
        with contextlib.suppress(OSError, ValueError):  # a dead process: no answer, reported as such
            write_arrays(self.proc.stdin, {"x_train": x[rows], "y_train": y[rows]})

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
        if self.run:  # first: a feeder blocked in writing to a process that reads nothing gets EPIPE
            self.run.kill()
        elif self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.feeder.join()
        if self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
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


def _loss(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not 0 <= number < float("inf"):
        raise ValueError(f"{number} is not a loss")
    return number


MODEL_MAX_DEPTH, MODEL_MAX_ENTRIES = 16, 10_000  # of the exported model's folder tree


def _op_names(value: Any) -> tuple[str, ...]:
    """Op names from the answer: a list of short strings (`grader.graph_audit.MAX_REPORTED` at most)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("op names are not a list of strings")
    return tuple(v[:100] for v in value[: graph_audit.MAX_REPORTED])


def unsafe_tree(root: Path) -> str | None:
    """Why the folder the sandbox wrote must not be read by the host, or None: a symbolic link or a
    special file could make the host (or the evaluation's mounts) read something else, and a hard
    link is another name of a file outside (handing the model over would give that file away). The
    walk is iterative and bounded: a SavedModel is a few files, two levels deep."""
    try:
        if root.is_symlink():
            return "the exported model folder is a symbolic link"
        for names, info in walk_tree(root, MODEL_MAX_DEPTH, MODEL_MAX_ENTRIES):
            if stat.S_ISDIR(info.st_mode):
                continue
            name = safe_text(names[-1][:100])
            if not stat.S_ISREG(info.st_mode):
                return f"the exported model contains a link or special file ({name})"
            if info.st_nlink > 1:
                return f"the exported model contains a hard link ({name})"
    except (FileNotFoundError, NotADirectoryError):
        return None  # no model folder: reported as "no exported model"
    except TreeTooLarge as exc:
        return f"the exported model folder is too large to read ({exc})"
    except OSError as exc:
        return f"the exported model could not be read: {exc.strerror}"
    return None


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
        return {"disallowed_ops": list(refused), "error": f"disallowed operations in the model's graph: {', '.join(refused)}"}
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
    """`python -m grader.evaluate`: its stdin carries the token, then the held-out and public test
    images (`grader.heldout.write_arrays`), read while TensorFlow is imported; then, once the
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
        problem = f"the evaluation's images: {exc}"
    import tensorflow  # noqa: F401 - what needs no model is done while the kernel runs

    line = stdin.readline(1 << 20)
    if not line.strip():
        return 0
    try:
        request = json.loads(line)
        if problem is None:
            arrays.update(read_arrays(stdin))
        close_stdin()  # nothing of the host's pipe is left for the graph to read
        result = {"error": problem} if problem else _measure(request, arrays)
    except Exception as exc:  # noqa: BLE001 - any failure is reported as data
        result = {"error": f"{type(exc).__name__}: {str(exc)[:500]}"}
    sys.stdout.flush()
    os.write(1, f"\n{token}{json.dumps(result)}\n".encode())
    os._exit(0)  # the answer is out: skip TensorFlow's teardown, which the host would wait for


if __name__ == "__main__":
    sys.exit(main(sys.argv))
