"""Remembering is not learning (issue 12, item 6): the held-out images are half of the PUBLIC test
set, so a model holding a table of that set answers them from memory. The evaluation also measures
the held-out images each shifted a pixel at this grading (`grader.data.heldout.perturbed`); a table does
not hold those, a model that recognises digits still does. And the sandbox hides Debian's copies of
the public test sets (/usr/share/datasets)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.data import heldout
from grader.data.heldout import SHIFT_GAP, perturbed, split_rows
from grader.i18n import t
from grader.models import Evaluation
from grader.rules.checks import Measured, run_checks
from tests.support.recordings import OK, good_recording
from tests.support.sandbox import AVAILABLE, linux, run_in


def verdict(assignment, evaluation: Evaluation):
    measured = Measured(assignment, good_recording(), evaluation, OK, None, "en", ())
    return next(c for c in run_checks(measured) if c.id == "test_accuracy")


def test_perturbed_moves_each_image_one_pixel_and_adds_mild_noise():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, size=(400, 28, 28), dtype=np.uint8)
    moved = perturbed(x, np.random.default_rng(1), noise=0)
    pad = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    shifts = [pad[:, 1 - dy : 29 - dy, 1 - dx : 29 - dx] for dy, dx in [(-1, 0), (1, 0), (0, -1), (0, 1)]]
    which = [[int((moved[i] == s[i]).all()) for s in shifts] for i in range(len(x))]
    assert all(sum(w) == 1 for w in which)  # each image is exactly one of the four one-pixel moves
    assert all(sum(col) > 60 for col in zip(*which, strict=True))  # and every direction is drawn
    noisy = perturbed(x, np.random.default_rng(1))
    assert noisy.dtype == np.uint8 and noisy.shape == x.shape
    assert np.abs(noisy.astype(int) - moved.astype(int)).max() <= heldout.SHIFT_NOISE
    assert not (perturbed(x, np.random.default_rng(2)) == noisy).all()  # a grading's own draw


def test_the_evaluation_gets_the_shifted_images_in_an_order_of_their_own(monkeypatch):
    """What the feeder writes: the shifted copy of the held-out rows, labelled, shuffled apart from them."""
    from grader.run import evaluate

    x = np.random.default_rng(0).integers(0, 256, size=(50, 28, 28), dtype=np.uint8)
    arrays = {"x_heldout": x, "y_heldout": np.arange(50) % 10, "x_test": x, "y_test": np.arange(50) % 10}
    sent: dict[str, np.ndarray] = {}

    class Data:
        def evaluation_arrays(self):
            return {k: v.copy() for k, v in arrays.items()}

        def training(self):
            return x, arrays["y_heldout"]

    monkeypatch.setattr(evaluate, "write_arrays", lambda stream, a: sent.update(a))
    feeder = evaluate.Evaluator.__new__(evaluate.Evaluator)
    feeder.data, feeder.proc, feeder.feed_error = Data(), type("P", (), {"stdin": object()})(), None
    feeder._feed()
    assert feeder.feed_error is None and set(sent) == {"x_heldout", "y_heldout", "x_test", "y_test", "x_shifted", "y_shifted"}
    assert not any((sent["x_shifted"] == img).all() for img in x)  # no held-out image is sent unchanged
    assert sorted(sent["y_shifted"]) == sorted(arrays["y_heldout"])


def lookup_and_honest(store: Path) -> tuple[Evaluation, Evaluation]:
    """Two models measured as the evaluation measures them: a nearest-centroid classifier trained on
    the training set (honest), and the same behind a table of the 10,000 public test images (a
    lookup, as a student who pasted the test set's fingerprints would build it)."""
    with np.load(store, allow_pickle=False) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    centroids = np.stack([x_train[y_train == d].reshape(-1, 784).mean(axis=0) for d in range(10)]).astype("float32")

    def honest(images: np.ndarray) -> np.ndarray:
        flat = images.reshape(len(images), -1).astype("float32")
        return -((flat**2).sum(1, keepdims=True) - 2 * flat @ centroids.T + (centroids**2).sum(1))

    table = {img.tobytes(): label for img, label in zip(x_test, y_test, strict=True)}

    def lookup(images: np.ndarray) -> np.ndarray:
        out = honest(images)
        for i, img in enumerate(images):
            if img.tobytes() in table:
                out[i] = np.eye(10)[table[img.tobytes()]]  # in the table: answered from memory
        return out

    withheld, _ = split_rows(y_test)
    x, y = x_test[withheld], y_test[withheld]
    shifted = perturbed(x, np.random.default_rng())

    def measured(model) -> Evaluation:
        acc = lambda images, labels: float((model(images).argmax(1) == labels).mean())  # noqa: E731
        return Evaluation(heldout_accuracy=acc(x, y), heldout_images=len(x), shifted_accuracy=acc(shifted, y), test_accuracy=acc(x_test, y_test),
                          test_images=len(x_test))

    return measured(lookup), measured(honest)


def test_a_lookup_of_the_public_test_set_fails_on_the_shifted_images_and_an_honest_model_does_not(mnist_store, callback_assignment):
    lookup, honest = lookup_and_honest(mnist_store)
    assert lookup.heldout_accuracy == 1.0 and lookup.test_accuracy == 1.0  # the public-vs-held-out gap sees nothing
    assert lookup.heldout_accuracy - lookup.shifted_accuracy > SHIFT_GAP
    assert honest.heldout_accuracy - honest.shifted_accuracy < SHIFT_GAP  # about 6 points: a template matcher is shift-sensitive
    failed = verdict(callback_assignment, lookup)
    shifted = f"{lookup.shifted_accuracy * 100:.2f}%"
    assert not failed.passed and failed.message == t("en", "checks.test_accuracy.remembered_shifted", accuracy="100.00%", images="5,000", shifted=shifted)
    assert "shifted by one pixel" in failed.message and "\n" not in failed.message
    assert failed.hint == t("en", "checks.test_accuracy.hint_remembered")
    # judged on its own figure (a nearest centroid is below mnist-callback's 97%), not for remembering
    expected = t("en", "checks.test_accuracy.fail", images="5,000", accuracy=f"{honest.heldout_accuracy * 100:.2f}%", minimum="97.00%")
    assert verdict(callback_assignment, honest).message == expected


def test_the_shift_gap_is_a_margin_not_a_bound(callback_assignment):
    """An honest model loses a little on shifted images; only a loss beyond `SHIFT_GAP` fails."""
    within = Evaluation(heldout_accuracy=0.981, heldout_images=5000, shifted_accuracy=0.981 - SHIFT_GAP + 0.01, test_accuracy=0.98, test_images=10000)
    assert verdict(callback_assignment, within).passed
    beyond = Evaluation(heldout_accuracy=0.981, heldout_images=5000, shifted_accuracy=0.981 - SHIFT_GAP - 0.01, test_accuracy=0.98, test_images=10000)
    assert not verdict(callback_assignment, beyond).passed
    zh = Measured(callback_assignment, good_recording(), beyond, OK, None, "zh", ())
    assert "平移一个像素" in next(c for c in run_checks(zh) if c.id == "test_accuracy").message


@linux
@pytest.mark.parametrize("box", AVAILABLE, indirect=True)
def test_the_sandbox_hides_the_system_copies_of_the_public_test_sets(box):
    """Debian's dataset packages keep whole test sets under /usr/share/datasets: empty in the sandbox."""
    code = "import os\nd = '/usr/share/datasets'\nprint(os.listdir(d) if os.path.isdir(d) else 'absent', os.access('/usr/share/doc', os.R_OK))"
    proc, _ = run_in(box, code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() in (["[]", "True"], ["absent", "True"])
