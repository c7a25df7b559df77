"""The evaluation process: started before the kernel as a uid of its own, it outlives the kernel's
run and measures the model handed over to it, whatever the kernel did to the files' modes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.data.heldout import prepare
from grader.run.evaluate import Evaluator
from grader.sandbox import core as sb
from tests.support.sandbox import AVAILABLE

pytestmark = pytest.mark.kernel  # the evaluation process, and TensorFlow exporting a model
MODES = [*AVAILABLE, "none"]
EXPORT = """
import sys, keras
model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)])
model.export(sys.argv[1], format="tf_saved_model", verbose=False)
"""


@contextlib.contextmanager
def sandbox_in_tmp(mode: str) -> Iterator[sb.Sandbox]:
    """A sandbox whose folder is where the pipeline puts it: in /tmp, which every uid may cross
    (pytest's own temporary folders are private to the user running the tests)."""
    with tempfile.TemporaryDirectory(prefix="grader-test-", ignore_cleanup_errors=True) as tmp:
        sandbox = sb.Sandbox(Path(tmp), mode=mode)
        try:
            yield sandbox
        finally:
            sandbox.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """A tiny untrained SavedModel, exported the way the kernel's recorder does."""
    folder = tmp_path_factory.mktemp("export") / "model"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", EXPORT, str(folder)], check=True, env=env, timeout=300, capture_output=True)
    return folder


def locked_copy(model: Path, sandbox: sb.Sandbox, uid: int | None) -> Path:
    """`model` in the kernel's run folder, owned by the kernel's uid, every mode cleared (left as
    they are where the evaluation runs as the same user: then that is the student's own doing)."""
    target = sandbox.writable_dir("run") / "model"
    shutil.copytree(model, target)
    if uid is None:
        return target
    for folder, dirs, files in os.walk(target, topdown=False):  # bottom-up: a folder is closed after its contents
        for path in (os.path.join(folder, n) for n in [*dirs, *files]):
            os.lchown(path, uid, uid)
            os.chmod(path, 0)
    os.lchown(target, uid, uid)
    os.chmod(target, 0)
    return target


@pytest.mark.parametrize("mode", MODES)
def test_evaluation_outlives_the_kernel_run_and_measures_the_handed_over_model(mode, exported, mnist_store):
    with sandbox_in_tmp(mode) as sandbox:
        evaluator = Evaluator(prepare(mnist_store), (), sandbox)  # as the pipeline: the images come on its stdin
        kernel = sandbox.new_run("kernel")
        assert evaluator.run is not None
        if sandbox.uid is not None:
            assert evaluator.run.uid not in (None, kernel.uid)
        work = sandbox.writable_dir("work")
        command = sandbox.command(kernel, [sys.executable, "-c", "import time; time.sleep(60)"], cwd=work)
        sleeper = subprocess.Popen(command, cwd=work, start_new_session=True)
        kernel.attach(sleeper.pid)
        kernel.kill()  # what the end of every kernel run does: its uid's processes all go
        sleeper.wait(timeout=10)
        assert evaluator.proc is not None and evaluator.proc.poll() is None, "the evaluation died with the kernel"
        model = locked_copy(exported, sandbox, kernel.uid if evaluator.run.uid != kernel.uid else None)
        evaluation = evaluator.measure(model, {})
        assert not model.exists()  # handed over: moved out of the kernel's reach
        assert evaluation.error is None
        assert evaluation.test_images == 10000 and evaluation.conv_ops == 0 and 0 <= evaluation.test_accuracy <= 1
        assert evaluation.heldout_images == 5000 and 0 <= evaluation.heldout_accuracy <= 1
        assert evaluation.train_images == 5000 and evaluation.train_loss is not None and evaluation.train_loss > 0


def test_an_unused_evaluation_is_ended_by_close(mnist_store):
    with sandbox_in_tmp("auto") as sandbox:
        evaluator = Evaluator(prepare(mnist_store), (), sandbox)
        evaluator.close()
        assert evaluator.proc is not None and evaluator.proc.poll() is not None
        assert evaluator.run is not None and (evaluator.run.uid is None or not sb.pids_of_uid(evaluator.run.uid))


def test_a_hard_link_in_the_model_is_not_handed_over(exported, mnist_store):
    with sandbox_in_tmp("auto") as sandbox:
        evaluator = Evaluator(prepare(mnist_store), (), sandbox)
        model = locked_copy(exported, sandbox, None)
        outside = sandbox.shared_root / "secret"  # on the model's file system: a hard link can reach it
        outside.write_text("not the student's")
        os.link(outside, model / "assets.txt")
        evaluation = evaluator.measure(model, {})
        assert evaluation.error == "the exported model contains a hard link (assets.txt)"
        assert model.exists() and outside.stat().st_uid == os.getuid()
