"""The student's own copy of the data set: a file the submission names by one of the data set's
usual file names (`mnist.npz`, the four `*-idx?-ubyte[.gz]` files), in whatever folder, is the
kernel's copy when it is not there. Students behind a blocked download keep `mnist.npz` beside
their notebook (`np.load('../datasets/mnist.npz')`, `keras.utils.get_file('mnist.npz', ...)`);
graded, that code gets the grader's verified copy, offline, and the record lists the paths it
named so that the report can say so.

Only paths that do not exist, opened for reading, with exactly such a name are served; any other
missing file is the ordinary `FileNotFoundError` at the student's line. What is served is built
from the kernel's copy (`grader.data.heldout`): the rows the grader withholds are not in it.
"""

from __future__ import annotations

import builtins
import gzip
import io
import os
import re
import tempfile
from collections.abc import Callable
from typing import Any

STORES = {"mnist": "mnist.npz", "fashion_mnist": "fashion_mnist.npz"}  # data set -> the grader's store file name
NPZ_NAMES = {"mnist": ("mnist.npz",), "fashion_mnist": ("fashion_mnist.npz", "fashion-mnist.npz")}
IDX = {  # file stem (Keras' and LeCun's names; Kaggle's write `.idx` for `-idx`) -> array and magic number
    "train-images-idx3-ubyte": ("x_train", 0x803),
    "train-labels-idx1-ubyte": ("y_train", 0x801),
    "t10k-images-idx3-ubyte": ("x_test", 0x803),
    "t10k-labels-idx1-ubyte": ("y_test", 0x801),
}
MAX_NOTED = 20  # paths kept for the report
WRITING = re.compile(r"[wax+]")


def store_dataset(path: str | os.PathLike[str]) -> str:
    """Which data set a store file holds, by its name (the grader names its stores)."""
    return "fashion_mnist" if os.path.basename(path) == STORES["fashion_mnist"] else "mnist"


class DataFiles:
    """Resolves the data set's file names to the kernel's copy, and notes what the student named."""

    def __init__(self, store: str, dataset: str, noted: list[str], on_serve: Callable[[], None] = lambda: None) -> None:
        self.store, self.dataset, self.noted, self.on_serve = store, dataset, noted, on_serve
        self.built: dict[str, str] = {}
        self.folder: str | None = None

    def served(self, path: Any) -> str | None:
        """The file to give for `path`, or None: not one of the data set's names."""
        try:
            name = os.path.basename(os.fsdecode(os.fspath(path)))
        except (TypeError, ValueError):
            return None
        if name in NPZ_NAMES.get(self.dataset, ()):
            return self.store
        stem = name[:-3] if name.endswith(".gz") else name
        stem = stem.replace(".idx", "-idx")
        if stem in IDX:
            return self._idx(name, stem)
        return None

    def serve(self, path: Any) -> str | None:
        """`served`, noting the path the student named (for the report) when there is one."""
        target = self.served(path)
        if target is not None:
            shown = os.fsdecode(os.fspath(path))[:300]
            if shown not in self.noted and len(self.noted) < MAX_NOTED:
                self.noted.append(shown)
            self.on_serve()
        return target

    def _idx(self, name: str, stem: str) -> str:
        """The IDX file `name` (gzip-compressed when it ends in .gz), built once from the kernel's copy
        in a private folder of the kernel."""
        if name not in self.built:
            import numpy as np

            key, magic = IDX[stem]
            with np.load(self.store, allow_pickle=False) as data:
                array = np.ascontiguousarray(data[key], dtype=np.uint8)
            header = np.array([magic, *array.shape], dtype=">u4").tobytes()
            self.folder = self.folder or tempfile.mkdtemp(prefix="grader-data-")
            target = os.path.join(self.folder, name)
            with _ORIGINAL_OPEN(target + ".partial", "wb") as raw:
                out = gzip.GzipFile(filename=name, fileobj=raw, mode="wb", compresslevel=1) if name.endswith(".gz") else raw
                out.write(header)
                out.write(array.tobytes())
                out.close()
            os.replace(target + ".partial", target)
            self.built[name] = target
        return self.built[name]


_ORIGINAL_OPEN = builtins.open
_ORIGINAL_STAT = os.stat


def install(files: DataFiles, keras: bool = True) -> None:
    """`open` (built-in, `io.open` and the one IPython puts in the student's namespace; hence
    `np.load`, `gzip.open`, `pathlib`) and `os.stat` (hence `os.path.exists`/`isfile`/`getsize`)
    fall back on the kernel's copy for the data set's names; with `keras`,
    `keras.utils.get_file` of those names returns it without a download."""

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # noqa: F841 - IPython leaves this frame out of the student's traceback
        try:
            return _ORIGINAL_STAT(path, *args, **kwargs)
        except FileNotFoundError:
            target = None if isinstance(path, int) or kwargs.get("dir_fd") is not None else files.served(path)
            if target is None:
                raise
        return _ORIGINAL_STAT(target)

    builtins.open = io.open = _serving(files, _ORIGINAL_OPEN)
    os.stat = stat
    shell = _shell()
    if shell is not None and callable(shell.user_ns.get("open")) and shell.user_ns["open"] is not builtins.open:
        shell.user_ns["open"] = _serving(files, shell.user_ns["open"])  # IPython's own, which refuses fds 0-2
    if keras:
        _patch_get_file(files)


def _serving(files: DataFiles, opener: Callable[..., Any]) -> Callable[..., Any]:
    """`opener`, falling back on what `files` serves for a missing file opened for reading."""

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True  # noqa: F841
        try:
            return opener(file, mode, *args, **kwargs)
        except FileNotFoundError:
            target = None if isinstance(file, int) or (isinstance(mode, str) and WRITING.search(mode)) else files.serve(file)
            if target is None:
                raise
        return opener(target, mode, *args, **kwargs)

    open_.__doc__ = opener.__doc__
    return open_


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the kernel is IPython's
        return None
    return get_ipython()


def _patch_get_file(files: DataFiles) -> None:
    import importlib

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def get_file(fname: Any = None, origin: Any = None, *args: Any, **kwargs: Any) -> Any:
            named = fname if fname else (str(origin).rstrip("/").rsplit("/", 1)[-1] if origin else None)
            target = files.serve(named) if named else None
            return target if target is not None else original(fname, origin, *args, **kwargs)

        get_file.__doc__ = original.__doc__
        return get_file

    for module_name in ("keras.src.utils.file_utils", "keras.src.utils", "keras.utils", "tensorflow.keras.utils"):
        try:
            module: Any = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - standalone Keras without TensorFlow's alias
            continue
        original = getattr(module, "get_file", None)
        if callable(original) and getattr(original, "__name__", "") == "get_file" and original.__module__ != __name__:
            module.get_file = wrap(original)
