"""The figures a notebook displayed (matplotlib's inline figures, `IPython.display.Image`), taken
from the kernel's outputs for the report.

The kernel runs the student's code, so what it sends is hostile: only `image/png` is kept (never
SVG, HTML or script), decoded strictly from base64 and checked to be a PNG (its signature, an
`IHDR` chunk whose checksum holds and whose size is bounded, the `IEND` chunk last), then
re-encoded by the grader. At most MAX_FIGURES images of at most MAX_FIGURE_BYTES each, and
MAX_TOTAL_BYTES in all, are kept; the rest are counted as left out. Every message the kernel sent
already counted against the output cap (`grader.run.kernel_client.CappedClient`).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib.metadata
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from grader.models import Figure, FigureCell
from grader.run.verdicts import HIDDEN, student_cell_number

MAX_FIGURES = 24  # images kept for one submission
MAX_FIGURE_BYTES = 512 * 1024  # one PNG, decoded
MAX_TOTAL_BYTES = 4 * 1024 * 1024  # all of them
MAX_SIDE = 6000  # pixels, either side: the report's reader decodes it
MAX_PIXELS = 16_000_000
SOURCE_LINES, SOURCE_CHARS = 12, 1500  # the cell's source shown beside its figures
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # the IEND chunk: no data, its fixed checksum


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a well-formed PNG of bounded size, else None."""
    if len(data) < len(PNG_SIGNATURE) + 25 + len(PNG_END) or not data.startswith(PNG_SIGNATURE) or not data.endswith(PNG_END):
        return None
    length, kind = struct.unpack(">I4s", data[8:16])
    if length != 13 or kind != b"IHDR":
        return None
    header = data[16:29]
    if zlib.crc32(b"IHDR" + header) != struct.unpack(">I", data[29:33])[0]:
        return None
    width, height = struct.unpack(">II", header[:8])
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE and width * height <= MAX_PIXELS):
        return None
    return width, height


def decode_png(value: Any) -> Figure | None:
    """The figure in an output's `image/png` value (base64, possibly split in lines), or None."""
    if isinstance(value, list) and len(value) <= 100_000:  # nbformat may hold it as a list of lines
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str) or len(value) > MAX_FIGURE_BYTES * 2:
        return None
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    size = png_size(data) if len(data) <= MAX_FIGURE_BYTES else None
    if size is None:
        return None
    return Figure(png=base64.b64encode(data).decode("ascii"), width=size[0], height=size[1])


def excerpt(source: Any) -> str:
    """The first lines of a cell's source, bounded; "…" where more was left out."""
    text = source if isinstance(source, str) else "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else ""
    text = text.strip("\n")
    lines = text[: SOURCE_CHARS * 4].split("\n")
    shown = "\n".join(lines[:SOURCE_LINES])
    cut = len(lines) > SOURCE_LINES or len(shown) > SOURCE_CHARS or len(text) > SOURCE_CHARS * 4
    return shown[:SOURCE_CHARS] + ("\n…" if cut else "")


class FigureCollector:
    """Takes the figures of each cell once it ran; `cells` and `left_out` are the result."""

    def __init__(self) -> None:
        self.cells: list[FigureCell] = []
        self.left_out = 0
        self.kept = 0
        self.kept_bytes = 0

    def collect(self, notebook: NotebookNode, index: int) -> None:
        """The images of cell `index` (a student's cell, or the grader's call of the entry function)."""
        cell = notebook.cells[index]
        role = cell.metadata.get(HIDDEN)
        if role not in (None, "entry"):
            return
        figures = []
        for output in cell.get("outputs", ()):
            data = output.get("data") if isinstance(output, dict) and output.get("output_type") in ("display_data", "execute_result") else None
            if not isinstance(data, dict) or not any(isinstance(k, str) and k.startswith("image/") for k in data):
                continue
            figure = decode_png(data.get("image/png")) if self.kept < MAX_FIGURES else None
            size = len(figure.png) * 3 // 4 if figure else 0
            if figure is None or self.kept_bytes + size > MAX_TOTAL_BYTES:
                self.left_out += 1
                continue
            figures.append(figure)
            self.kept, self.kept_bytes = self.kept + 1, self.kept_bytes + size
        if figures:
            number = None if role == "entry" else student_cell_number(notebook, index)
            self.cells.append(FigureCell(cell=number, source=excerpt(cell.get("source", "")), figures=tuple(figures)))


def font_cache_dir() -> Path:
    """Where the grader keeps matplotlib's font list, per matplotlib version."""
    try:
        version = importlib.metadata.version("matplotlib")
    except importlib.metadata.PackageNotFoundError:
        version = "none"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "grader" / f"matplotlib-{version}"


def prepare_matplotlib(config_dir: Path, owner: Callable[[Path], None] = lambda path: None) -> None:
    """Give the kernel's `MPLCONFIGDIR` the font list matplotlib otherwise builds on its first import
    in every grading (about two seconds on two cores): built once per machine and matplotlib
    version, by the grader's own Python outside the sandbox. Without matplotlib, nothing is done;
    `owner` makes the folder the sandbox's (matplotlib wants it writable)."""
    if importlib.util.find_spec("matplotlib") is None:
        return
    cache = font_cache_dir()
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # without it, the kernel builds its own
        if not any(cache.glob("fontlist-*.json")):
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=cache.parent, prefix=".matplotlib-") as building:  # moved in whole: a reader never sees half
                env = {"MPLCONFIGDIR": building, "HOME": building, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MPLBACKEND": "Agg"}
                build = [sys.executable, "-I", "-c", "import matplotlib.font_manager"]
                subprocess.run(build, env=env, cwd=building, capture_output=True, timeout=300, check=False)
                for built in Path(building).glob("fontlist-*.json"):
                    os.replace(built, cache / built.name)
    config_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        for found in cache.glob("fontlist-*.json"):
            shutil.copyfile(found, config_dir / found.name)
    owner(config_dir)
