"""The held-out digits: test images the grading kernel never gets, on which the grader measures every
model (the `test_accuracy` check), and the training sample the grader itself chooses to check the
record against.

A fixed, seeded half of each data set's test set (`HELDOUT_ROWS` of its 10,000 images) is withheld.
The kernel gets a copy of the store in which each withheld test row is replaced by a duplicate of a
kept test row of the same label: `load_data()` still returns 60,000 training and 10,000 test images
with the original label counts (the shapes students hard-code keep working); the training set is
untouched, so training runs as it did. The copy and the withheld rows are derived once from the
verified store, next to it (`split-v2/`), and reused. The evaluation process receives its images
through its stdin, never as a path (docs/security.md, "The held-out digits").

This module runs on the host; the wire format the evaluation reads is `grader.inside.wire`.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grader.common.files import atomic_write
from grader.data.store import STORE_MODE, file_digest
from grader.errors import DatasetError
from grader.inside.wire import Arrays

HELDOUT_ROWS = 5_000  # withheld from the 10,000 test images: the other half stays public
SPLIT_SEED = 20_120_612  # fixed: the same rows are withheld at every grading, so verdicts repeat
SPLIT_FORMAT = 2  # bump when the split changes: the derived files are rebuilt in a new folder
TRAIN_SAMPLE = 5_000  # training images the grader chooses, to check the recorded accuracy and loss
MIN_SUBSET = 100  # a prefix the student trained on is sampled only if at least this long
REMEMBER_GAP = 0.03  # public test accuracy this far above the held-out one: the model remembers images
SHIFT_GAP = 0.15  # held-out accuracy this far above the same images shifted (`perturbed`): it remembers them
SHIFT_NOISE = 8  # the shifted images' pixels also move by up to this many grey levels, either way


def split_rows(labels: np.ndarray, rows: int = HELDOUT_ROWS, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """`(withheld, fill)`: the withheld row indices (sorted) and, for each, the kept row of the same
    label whose duplicate takes its place in the kernel's copy."""
    rng = np.random.default_rng(seed)
    withheld = np.sort(rng.choice(len(labels), rows, replace=False))
    kept = np.ones(len(labels), dtype=bool)
    kept[withheld] = False
    fill = np.empty(rows, dtype=np.int64)
    for label in np.unique(labels[withheld]):
        slots = np.flatnonzero(labels[withheld] == label)
        donors = np.flatnonzero(kept & (labels == label))
        fill[slots] = rng.choice(donors, len(slots), replace=len(slots) > len(donors))
    return withheld, fill


def kernel_arrays(arrays: Mapping[str, np.ndarray], withheld: np.ndarray, fill: np.ndarray) -> Arrays:
    """The store as the kernel gets it: the withheld test rows replaced by duplicates."""
    x_test, y_test = arrays["x_test"].copy(), arrays["y_test"].copy()
    x_test[withheld], y_test[withheld] = arrays["x_test"][fill], arrays["y_test"][fill]
    return {"x_train": arrays["x_train"], "y_train": arrays["y_train"], "x_test": x_test, "y_test": y_test}


@dataclass(frozen=True)
class HeldOut:
    """The two files derived from one verified store."""

    kernel_store: Path  # what the kernel's `load_data()` reads: no withheld row in it
    heldout_path: Path  # the withheld test rows (`x`, `y`, and their indices `rows`): read by the host only

    def evaluation_arrays(self) -> Arrays:
        """What the evaluation process gets before any model exists: the held-out rows, and the test
        set as the kernel had it (what the student's own `evaluate(x_test, y_test)` measures)."""
        with np.load(self.heldout_path, allow_pickle=False) as held, np.load(self.kernel_store, allow_pickle=False) as public:
            return {"x_heldout": held["x"], "y_heldout": held["y"], "x_test": public["x_test"], "y_test": public["y_test"]}

    def training(self) -> tuple[np.ndarray, np.ndarray]:
        """The training set exactly as the kernel got it."""
        with np.load(self.kernel_store, allow_pickle=False) as public:
            return public["x_train"], public["y_train"]


def prepare(store: Path, scratch: Path | None = None) -> HeldOut:
    """The derived files of the verified `store`, built once in `split-v2/` beside it; where that
    folder cannot be written, built in `scratch` (a folder of this grading) instead."""
    problem: OSError | None = None
    for folder in [store.parent, *([scratch] if scratch is not None else [])]:
        try:
            return _derived(store, folder / f"split-v{SPLIT_FORMAT}")
        except OSError as exc:
            problem = exc
    raise DatasetError(f"cannot write the held-out split of {store}: {problem}; set GRADER_DATA_DIR to a writable folder")


def _derived(store: Path, folder: Path) -> HeldOut:
    folder.mkdir(mode=0o755, exist_ok=True)
    held = HeldOut(folder / store.name, folder / f"{store.stem}.heldout.npz")
    sidecar = folder / f"{store.name}.source"
    if _current(sidecar, store, held):
        return held
    with open(folder / ".lock", "a") as lock:  # batch workers: one builds, the others wait and reuse
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _current(sidecar, store, held):
            with np.load(store, allow_pickle=False) as data:
                arrays = {k: data[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            withheld, fill = split_rows(arrays["y_test"], HELDOUT_ROWS)
            _atomic_savez(held.kernel_store, kernel_arrays(arrays, withheld, fill))
            _atomic_savez(held.heldout_path, {"x": arrays["x_test"][withheld], "y": arrays["y_test"][withheld], "rows": withheld})
            stamp = json.dumps(_stamp(store, held)).encode()
            atomic_write(sidecar, stamp, mode=STORE_MODE)
    return held


def _stamp(store: Path, held: HeldOut) -> dict[str, Any]:
    """What the derived files were built from, and what they were, by content (a write that puts the
    mtime back still changes the digest): a change in any rebuilds them."""
    files = {"source": store, "kernel": held.kernel_store, "heldout": held.heldout_path}
    return {"format": SPLIT_FORMAT, "rows": HELDOUT_ROWS, "seed": SPLIT_SEED, **{k: [p.stat().st_size, file_digest(p)] for k, p in files.items()}}


def _current(sidecar: Path, store: Path, held: HeldOut) -> bool:
    try:
        return bool(json.loads(sidecar.read_text()) == _stamp(store, held))
    except (OSError, ValueError):
        return False


def _atomic_savez(dest: Path, arrays: Mapping[str, np.ndarray]) -> None:
    atomic_write(dest, lambda f: np.savez(f, **arrays), mode=STORE_MODE)  # type: ignore[arg-type]  # numpy's stub: **arrays may fill allow_pickle


# -- the training sample the grader chooses --------------------------------------------------------


def sample_rows(transform: Mapping[str, Any], n_train: int, rng: np.random.Generator) -> np.ndarray:
    """Which training rows (sorted) to measure the model on: `TRAIN_SAMPLE` of them at random, from
    the prefix `fit` got when the record says it got the first n raw rows and n is at least
    `MIN_SUBSET` (a subset is judged on itself), else from the whole training set. The record
    names no row: a short prefix it claims is not believed."""
    rows = transform.get("rows") if transform.get("exact") is True else None
    pool = rows if type(rows) is int and MIN_SUBSET <= rows <= n_train else n_train
    return np.sort(rng.choice(pool, min(TRAIN_SAMPLE, pool), replace=False))


# -- the wire: arrays on the evaluation's stdin, never a path --------------------------------------


def shuffled(arrays: Mapping[str, np.ndarray], rng: np.random.Generator) -> Arrays:
    """Each pair `x_<name>`, `y_<name>` in an order of its own that only the host knows. The
    withheld rows' labels are no secret (the seed is above, and each slot of the kernel's copy keeps
    its label): fed in the order of their rows, 1,000 a call, a model that tells which call it is
    answering (a weak guess agrees with one batch's labels far above chance) recites them."""
    out = dict(arrays)
    for name, x in arrays.items():
        y = f"y_{name[2:]}"
        if name.startswith("x_") and y in arrays:
            order = rng.permutation(len(x))
            out[name], out[y] = x[order], arrays[y][order]
    return out


def perturbed(images: np.ndarray, rng: np.random.Generator, noise: int = SHIFT_NOISE) -> np.ndarray:
    """uint8 images (`N, ..., H, W`), each moved one pixel up, down, left or right as `rng` draws
    for it (zero filled) and each pixel by up to `noise` grey levels: what an honest model
    still recognises, and an image a table of the public test images does not hold. Drawn on the
    host at each grading (`rng` from the OS's entropy), sent with the images, never to the kernel."""
    x = np.asarray(images)
    h, w = x.shape[-2:]
    pad = np.zeros((*x.shape[:-2], h + 2, w + 2), dtype=x.dtype)
    pad[..., 1 : h + 1, 1 : w + 1] = x
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]  # diagonal moves cost an honest dense model twice as much
    pick = rng.integers(len(moves), size=len(x))
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(moves):
        rows = pick == i
        out[rows] = pad[rows][..., 1 - dy : h + 1 - dy, 1 - dx : w + 1 - dx]
    if noise:
        out = np.clip(out.astype(np.int16) + rng.integers(-noise, noise + 1, size=out.shape, dtype=np.int16), 0, 255).astype(x.dtype)
    return out
