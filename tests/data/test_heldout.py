"""The held-out digits and the grader's own training sample, without a kernel: the split of the test
set, the kernel's copy of the store, the wire to the evaluation, the sample the grader chooses, the loss it
computes, and the verdicts on them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

from grader.assignment import find_assignment
from grader.data import heldout
from grader.data.heldout import MIN_SUBSET, TRAIN_SAMPLE, kernel_arrays, prepare, sample_rows, split_rows
from grader.errors import DatasetError
from grader.i18n import t
from grader.inside.evaluation import accuracy, cross_entropy
from grader.inside.wire import read_arrays, write_arrays
from grader.models import EpochRecord, Evaluation, FitRecord, Recording
from grader.pipeline import record_mismatch
from grader.rules.checks import Measured, run_checks
from tests.support.recordings import OK, good_recording


def small_store(path: Path, n_train: int = 600, n_test: int = 100, seed: int = 0) -> Path:
    """A store in the layout of the grader's: distinct random images, ten labels."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_train + n_test, 28, 28), dtype=np.uint8)
    x[:, 0, 0], x[:, 0, 1] = np.arange(n_train + n_test) % 256, np.arange(n_train + n_test) // 256  # all distinct
    y = rng.integers(0, 10, n_train + n_test).astype(np.uint8)
    np.savez(path, x_train=x[:n_train], y_train=y[:n_train], x_test=x[n_train:], y_test=y[n_train:])
    return path


# -- the split ---------------------------------------------------------------------------------


def test_the_split_is_fixed_and_keeps_labels_and_shapes():
    labels = np.random.default_rng(1).integers(0, 10, 10_000).astype(np.uint8)
    withheld, fill = split_rows(labels)
    again, _ = split_rows(labels)
    assert np.array_equal(withheld, again) and len(withheld) == 5_000 == len(set(withheld.tolist()))
    assert not set(fill.tolist()) & set(withheld.tolist())  # every slot is filled by a row the kernel keeps
    assert np.array_equal(labels[fill], labels[withheld])  # of the same label: the label counts do not change


def test_the_kernel_copy_has_every_shape_and_no_withheld_image():
    rng = np.random.default_rng(2)
    arrays = {"x_train": rng.integers(0, 256, (600, 28, 28), dtype=np.uint8), "y_train": rng.integers(0, 10, 600).astype(np.uint8),
              "x_test": rng.integers(0, 256, (100, 28, 28), dtype=np.uint8), "y_test": rng.integers(0, 10, 100).astype(np.uint8)}
    withheld, fill = split_rows(arrays["y_test"], rows=50)
    public = kernel_arrays(arrays, withheld, fill)
    assert {k: (v.shape, v.dtype) for k, v in public.items()} == {k: (v.shape, v.dtype) for k, v in arrays.items()}
    kept = {bytes(r) for r in public["x_test"].reshape(100, -1)}
    assert not any(bytes(arrays["x_test"][i]) in kept for i in withheld)
    assert np.array_equal(np.bincount(public["y_test"]), np.bincount(arrays["y_test"]))
    assert np.array_equal(public["x_train"], arrays["x_train"])  # training runs as it did


def test_prepare_builds_once_beside_the_store_and_rebuilds_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(heldout, "HELDOUT_ROWS", 50)
    store = small_store(tmp_path / "mnist.npz")
    held = prepare(store)
    assert held.kernel_store == tmp_path / "split-v2" / "mnist.npz"  # the store's name: the kernel tells the data set by it
    first = held.kernel_store.stat().st_mtime_ns
    assert prepare(store).kernel_store.stat().st_mtime_ns == first  # reused
    with np.load(held.heldout_path) as h, np.load(store) as original:
        assert np.array_equal(h["x"], original["x_test"][h["rows"]]) and len(h["y"]) == 50
    small_store(store, seed=5)  # a store provisioned again
    with np.load(prepare(store).heldout_path) as h, np.load(store) as original:
        assert np.array_equal(h["x"], original["x_test"][h["rows"]])


def test_prepare_falls_back_to_the_grading_folder_where_the_store_folder_is_read_only(tmp_path, monkeypatch):
    monkeypatch.setattr(heldout, "HELDOUT_ROWS", 50)
    store = small_store(tmp_path / "mnist.npz")
    real = heldout._derived

    def derived(s, folder):
        if folder.parent == tmp_path:
            raise PermissionError("read-only")
        return real(s, folder)

    monkeypatch.setattr(heldout, "_derived", derived)
    scratch = tmp_path / "grading"
    scratch.mkdir()
    assert prepare(store, scratch).kernel_store.parent == scratch / "split-v2"
    with pytest.raises(DatasetError, match="held-out split"):
        prepare(store)


def test_the_evaluation_arrays_are_the_withheld_rows_and_the_test_set_the_kernel_had(tmp_path, monkeypatch):
    monkeypatch.setattr(heldout, "HELDOUT_ROWS", 50)
    store = small_store(tmp_path / "mnist.npz")
    held = prepare(store)
    arrays = held.evaluation_arrays()
    with np.load(store) as original, np.load(held.kernel_store) as public:
        withheld, _ = split_rows(original["y_test"], rows=50)
        assert np.array_equal(arrays["x_heldout"], original["x_test"][withheld])
        assert np.array_equal(arrays["y_heldout"], original["y_test"][withheld])
        assert np.array_equal(arrays["x_test"], public["x_test"]) and not np.array_equal(arrays["x_test"], original["x_test"])
        assert np.array_equal(held.training()[0], original["x_train"])


# -- the wire ----------------------------------------------------------------------------------


def test_arrays_cross_the_wire_intact_and_a_cut_stream_is_refused():
    arrays = {"x": np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28), "y": np.array([3, 7], dtype=np.uint8)}
    buffer = io.BytesIO()
    write_arrays(buffer, arrays)
    write_arrays(buffer, {"z": np.zeros(3, dtype=np.int64)})
    buffer.seek(0)
    first, second = read_arrays(buffer), read_arrays(buffer)
    assert all(np.array_equal(first[k], arrays[k]) for k in arrays) and second["z"].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="cut short"):
        read_arrays(io.BytesIO(buffer.getvalue()[: buffer.getvalue().index(b"\n") + 100]))


@pytest.mark.parametrize("header", [
    b"null\n", b'{"arrays": [["x", "object", [1]]]}\n', b'{"arrays": [["x", "uint8", [-1]]]}\n', b'{"arrays": [["x", "uint8", [1000000, 1000000]]]}\n',
])
def test_the_wire_refuses_what_it_does_not_expect(header):
    with pytest.raises(ValueError):
        read_arrays(io.BytesIO(header + b"\0" * 64))


def test_close_stdin_leaves_nothing_to_read(tmp_path):
    code = "import os, sys; from grader.inside.wire import close_stdin; close_stdin(); print(repr(open('/proc/self/fd/0', 'rb').read()))"
    read, write = os.pipe()
    os.write(write, b"the held-out labels\n")
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], stdin=read, capture_output=True, text=True, timeout=60)
    os.close(read), os.close(write)
    assert out.stdout.strip() == "b''", out.stderr


# -- the sample the grader chooses ---------------------------------------------------------------


def test_the_sample_is_the_graders_not_the_records():
    rng = np.random.default_rng(0)
    whole = sample_rows({"known": True, "exact": False}, 60_000, rng)
    assert len(whole) == TRAIN_SAMPLE and whole.max() > 50_000 and len(set(whole.tolist())) == TRAIN_SAMPLE
    assert sample_rows({"exact": True, "rows": 3}, 60_000, rng).max() > 50_000  # three "easy rows": not believed
    assert sample_rows({"exact": True, "rows": True}, 60_000, rng).max() > 50_000
    assert sample_rows({"exact": True, "rows": 99_999}, 60_000, rng).max() < 60_000
    prefix = sample_rows({"exact": True, "rows": 8192}, 60_000, rng)
    assert prefix.max() < 8192 and len(prefix) == TRAIN_SAMPLE  # a subset the student fit is judged on itself
    assert len(sample_rows({"exact": True, "rows": MIN_SUBSET}, 60_000, rng)) == MIN_SUBSET
    assert not np.array_equal(sample_rows({}, 60_000, np.random.default_rng()), sample_rows({}, 60_000, np.random.default_rng()))


# -- what the evaluation computes ------------------------------------------------------------------


def test_cross_entropy_of_probabilities_and_of_logits_agree():
    logits = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    labels = np.array([0, 2, 1], dtype=np.uint8)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = float(-np.log(probs[np.arange(3), labels]).mean())
    assert cross_entropy(logits, labels) == pytest.approx(expected, rel=1e-5)
    assert cross_entropy(probs, labels) == pytest.approx(expected, rel=1e-5)
    assert cross_entropy(np.eye(3, dtype=np.float32)[[1, 0, 0]], labels) == pytest.approx(-np.log(1e-7), rel=1e-3)  # clipped as Keras clips
    assert cross_entropy(logits[:, :1], labels) is None  # fewer outputs than classes
    assert cross_entropy(np.full((3, 3), np.inf, dtype=np.float32), labels) is None
    assert accuracy(logits, labels) == pytest.approx(2 / 3)


# -- the verdicts ---------------------------------------------------------------------------------


def last_epoch(accuracy_: float | None, loss: float | None) -> Recording:
    epoch = EpochRecord(epoch=0, metrics={}, accuracy=accuracy_, loss=loss, stop_training=True, printed="", duration_s=1.0)
    return Recording(fits=(FitRecord(epochs_requested=5, initial_epoch=0, accuracy_metric="accuracy", epochs=(epoch,), completed=True),))


def test_a_recorded_loss_far_below_the_measured_one_is_a_mismatch_on_loss_rules_only():
    measured = Evaluation(train_accuracy=0.84, train_loss=0.62, train_images=5000)
    message = record_mismatch(last_epoch(0.86, 0.35), measured, "en", loss=True)
    assert message == ("the last epoch's training loss was recorded as 0.3500, "
                       "but the final model's cross-entropy on 5,000 training images the grader chose is 0.6200")
    assert record_mismatch(last_epoch(0.86, 0.35), measured, "en") is None  # an accuracy rule: the loss is not judged
    assert record_mismatch(last_epoch(0.86, 0.58), measured, "en", loss=True) is None  # within the margin
    assert record_mismatch(last_epoch(0.86, 0.80), measured, "en", loss=True) is None  # above: dropout, a learning epoch
    assert "5,000 training images the grader chose" in record_mismatch(last_epoch(0.995, 0.01), measured, "en")


def verdict(assignment, evaluation: Evaluation):
    measured = Measured(assignment, good_recording(), evaluation, OK, None, "en", ())
    return next(c for c in run_checks(measured) if c.id == "test_accuracy")


def test_test_accuracy_judges_the_held_out_figure(callback_assignment):
    honest = verdict(callback_assignment, Evaluation(heldout_accuracy=0.981, heldout_images=5000, test_accuracy=0.978, test_images=10000))
    assert honest.passed and honest.measured == "98.10% on 5,000 held-out images; 97.80% on 10,000 public test images (for information)"
    low = verdict(callback_assignment, Evaluation(heldout_accuracy=0.95, heldout_images=5000, test_accuracy=0.96, test_images=10000))
    assert not low.passed and low.message == "Accuracy on 5,000 held-out images (images your code never had) is 95.00%; at least 97.00% is required."
    unmeasured = verdict(callback_assignment, Evaluation(test_accuracy=0.99, test_images=10000, error="boom"))
    assert not unmeasured.passed and "boom" in unmeasured.message


def test_a_model_that_remembers_the_public_test_set_fails_with_one_line_saying_so(callback_assignment):
    lookup = verdict(callback_assignment, Evaluation(heldout_accuracy=0.965, heldout_images=5000, test_accuracy=1.0, test_images=10000))
    assert not lookup.passed
    assert lookup.message == ("The model scores 100.00% on the public test images it could see but 96.50% on 5,000 held-out images it never had: "
                              "it remembers images instead of recognising them.")
    assert lookup.hint == t("en", "checks.test_accuracy.hint_remembered") and "\n" not in lookup.message
    # above the bound on the held-out images, a public test figure far higher still fails: a lookup is in the model
    fashion = find_assignment("fashion-callback")  # a bound of 80%
    assert verdict(fashion, Evaluation(heldout_accuracy=0.85, heldout_images=5000, test_accuracy=0.87, test_images=10000)).passed
    assert not verdict(fashion, Evaluation(heldout_accuracy=0.85, heldout_images=5000, test_accuracy=1.0, test_images=10000)).passed
