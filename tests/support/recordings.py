"""Recordings, evaluations and data-set arrays built in memory, for the tests that judge them
without a kernel."""

from __future__ import annotations

from collections.abc import Sequence

from grader.models import EpochRecord, Evaluation, ExecutionInfo, FitRecord, LayerInfo, Recording

MESSAGE = "Reached 99% accuracy so cancelling training!"


def epochs(accuracies: Sequence[float], printed: dict[int, str] | None = None, stop_at: int | None = None) -> tuple[EpochRecord, ...]:
    """Epoch records with the given accuracies; `printed[i]` is printed in epoch i; stop set at `stop_at`."""
    printed = printed or {}
    return tuple(
        EpochRecord(
            epoch=i,
            metrics={"accuracy": a, "loss": 1 - a},
            accuracy=a,
            loss=1 - a,
            stop_training=i == stop_at,
            printed=f"Epoch {i + 1}/10\n" + printed.get(i, ""),
            duration_s=2.0,
        )
        for i, a in enumerate(accuracies)
    )


def recording(*fits: tuple[int, tuple[EpochRecord, ...]], layers: Sequence[LayerInfo] = ()) -> Recording:
    """A recording of `fit` calls given as (epochs argument, epoch records)."""
    return Recording(
        fits=tuple(FitRecord(epochs_requested=n, initial_epoch=0, accuracy_metric="accuracy", epochs=e, completed=True) for n, e in fits),
        layers=tuple(layers),
    )


def good_recording(message: str = MESSAGE, accuracies: Sequence[float] = (0.94, 0.975, 0.983, 0.988, 0.9912)) -> Recording:
    last = len(accuracies) - 1
    return recording((10, epochs(accuracies, {last: f"\n{message}\n"}, stop_at=last)))


OK = ExecutionInfo(status="ok")
EVALUATED = Evaluation(heldout_accuracy=0.981, heldout_images=10000, test_accuracy=0.981, test_images=10000)


def fake_arrays(seed: int) -> dict:
    """Tiny uint8 arrays in the layout of `load_data()`: 6 training and 3 test images."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 6, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 3, dtype=np.uint8),
    }


def layer(name: str, kind: str = "other", class_name: str | None = None, depth: int = 0) -> LayerInfo:
    return LayerInfo(name=name, class_name=class_name or name, output_shape="(None, 10)", params=10, kind=kind, depth=depth)  # type: ignore[arg-type]
