"""Measuring the exported model in a separate process that never ran the student's code.

The host starts an `Evaluator`, which runs `python -m grader.inside.evaluation` in the sandbox; that process
loads the SavedModel graph (not the student's Python classes), feeds it images transformed exactly
as the student's training images were, and counts convolution and pooling operations in one forward
pass of the graph. It measures the accuracy on the 5,000 held-out test images the kernel never
had (`grader.data.heldout`: what `test_accuracy` judges), on the public test set (for information), and
the accuracy and cross-entropy on a sample of the training images that the grader chooses (to check
the record), and on the held-out images again, each shifted by a pixel in a direction drawn at this
grading (`grader.data.heldout.perturbed`: a model that looks images up in a table of them fails there).
Every image reaches it through its stdin, never as a path the graph could open.
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
from pathlib import Path
from typing import Any

from grader.data.heldout import HeldOut, perturbed, sample_rows, shuffled
from grader.i18n import t
from grader.inside import graph_audit
from grader.inside.wire import write_arrays
from grader.models import Evaluation
from grader.sandbox.core import Run, Sandbox
from grader.sandbox.output import OutputSink, TreeTooLarge, walk_tree
from grader.untrusted import safe_text

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
        self.feed_error: str | None = None  # why the images could not be written (the OSError's own words)
        argv = [*prefix, sys.executable, "-m", "grader.inside.evaluation"]
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
            self.proc, self.start_error = None, exc.strerror or type(exc).__name__
            self.out.finish()
            self.err.finish()
            return
        if self.run:
            self.run.attach(self.proc.pid)
        self.out.started()
        self.err.started()
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
            self.feed_error = str(exc) or type(exc).__name__

    def _send(self, line: str) -> None:
        try:
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(f"{line}\n".encode())
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def measure(self, model_dir: Path, transform: dict[str, Any], timeout_s: float = 300, lang: str = "en") -> Evaluation:
        """Evaluate the model the kernel exported into `model_dir`; failures are `Evaluation.error`,
        in `lang`."""

        def failed(key: str, **values: Any) -> Evaluation:
            return Evaluation(error=t(lang, f"run.evaluation.{key}", **values))

        if self.proc is None:
            return failed("start_failed", reason=self.start_error)
        problem = unsafe_tree(model_dir, lang)
        if problem:
            return Evaluation(error=problem)
        if not (model_dir / "saved_model.pb").is_file():
            return failed("no_model")
        self.feeder.join(FEED_TIMEOUT_S)
        if self.feeder.is_alive() or self.feed_error or self.training is None:
            return failed("feed_failed", reason=self.feed_error) if self.feed_error else failed("not_fed")
        try:
            model_dir = self._hand_over(model_dir)
        except OSError as exc:
            return failed("hand_over_failed", reason=exc.strerror or type(exc).__name__)
        self._send(json.dumps({"model_dir": str(model_dir), "transform": transform}))
        self._send_sample(transform)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return failed("too_slow", limit=int(timeout_s))
        finally:
            self.close()
        data = _answer(self.out, self.token)
        if data is None:
            if self.run and self.run.oom_killed():
                return failed("out_of_memory", limit=self.run.sandbox.limits.memory_mb)
            tail = self.err.text().strip().splitlines()[-1:]
            return failed("crashed", reason=tail[0][:300]) if tail else failed("crashed_exit", code=self.proc.returncode)
        try:
            if data.get("heldout_accuracy") is not None and data.get("shifted_accuracy") is None:
                raise AnswerMalformed("no_shifted")
            disallowed = _op_names(data.get("disallowed_ops"))
            error = _error(data, disallowed, lang)
            return Evaluation(
                test_accuracy=_fraction(data.get("test_accuracy")),
                test_images=int(data.get("test_images", 0)),
                conv_ops=int(data.get("conv_ops", 0)),
                pool_ops=int(data.get("pool_ops", 0)),
                disallowed_ops=disallowed,
                unclassified_ops=_op_names(data.get("unclassified_ops")),
                duration_s=float(data.get("duration_s", 0.0)),
                error=error,
                train_accuracy=_fraction(data.get("train_accuracy")),
                heldout_accuracy=_fraction(data.get("heldout_accuracy")),
                heldout_images=int(data.get("heldout_images", 0)),
                shifted_accuracy=_fraction(data.get("shifted_accuracy")),
                train_loss=_loss(data.get("train_loss")),
                train_images=int(data.get("train_images", 0)),
            )
        except AnswerMalformed as exc:
            return failed("malformed", reason=t(lang, f"run.evaluation.{exc.key}", **exc.values))
        except (TypeError, ValueError) as exc:  # a number Python would not convert: its own words
            return failed("malformed", reason=f"{type(exc).__name__}: {str(exc)[:300]}")

    def _send_sample(self, transform: dict[str, Any]) -> None:
        """The training images the grader chose (`grader.data.heldout.sample_rows`), unpredictable to
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
        self.out.finish()
        self.err.finish()
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


class AnswerMalformed(ValueError):
    """A value of the evaluation's answer the host does not accept; `key` names the message under
    `run.evaluation.`."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key, self.values = key, values


def _error(data: dict[str, Any], disallowed: tuple[str, ...], lang: str) -> str | None:
    """The evaluation's failure, in `lang`: refused operations (named by the graph audit), the
    images it could not read, or the exception that measuring raised (its own `Type: text`)."""
    if disallowed:
        return t(lang, "run.evaluation.disallowed_ops", ops=", ".join(disallowed))
    if data.get("error") is None:
        return None
    detail = str(data["error"])[:1000]
    return t(lang, "run.evaluation.images", reason=detail) if data.get("error_key") == "images" else detail


def _fraction(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not 0 <= number <= 1:
        raise AnswerMalformed("not_fraction", value=number)
    return number


def _loss(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not 0 <= number < float("inf"):
        raise AnswerMalformed("not_loss", value=number)
    return number


MODEL_MAX_DEPTH, MODEL_MAX_ENTRIES = 16, 10_000  # of the exported model's folder tree


def _op_names(value: Any) -> tuple[str, ...]:
    """Op names from the answer: a list of short strings (`grader.inside.graph_audit.MAX_REPORTED` at most)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AnswerMalformed("not_op_names")
    return tuple(v[:100] for v in value[: graph_audit.MAX_REPORTED])


def unsafe_tree(root: Path, lang: str = "en") -> str | None:
    """Why (in `lang`) the folder the sandbox wrote must not be read by the host, or None: a symbolic link or a
    special file could make the host (or the evaluation's mounts) read something else, and a hard
    link is another name of a file outside (handing the model over would give that file away). The
    walk is iterative and bounded: a SavedModel is a few files, two levels deep."""
    try:
        if root.is_symlink():
            return t(lang, "run.evaluation.model_symlink")
        for names, info in walk_tree(root, MODEL_MAX_DEPTH, MODEL_MAX_ENTRIES):
            if stat.S_ISDIR(info.st_mode):
                continue
            name = safe_text(names[-1][:100])
            if not stat.S_ISREG(info.st_mode):
                return t(lang, "run.evaluation.model_special_file", name=name)
            if info.st_nlink > 1:
                return t(lang, "run.evaluation.model_hard_link", name=name)
    except (FileNotFoundError, NotADirectoryError):
        return None  # no model folder: reported as "no exported model"
    except TreeTooLarge:
        return t(lang, "run.evaluation.model_too_large", depth=MODEL_MAX_DEPTH, entries=f"{MODEL_MAX_ENTRIES:,}")
    except OSError as exc:
        return t(lang, "run.evaluation.model_unreadable", reason=exc.strerror or type(exc).__name__)
    return None
