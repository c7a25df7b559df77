"""The figures a notebook displays (grader.run.figures): only bounded, well-formed PNGs are kept, within
the caps, shown beside their cells in the report and checked again there, and carried through
result.json; matplotlib's font cache is built once per machine."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path

import nbformat
import pytest

from grader.models import Evaluation, ExecutionInfo, Figure, FigureCell, Recording
from grader.report.html import render_report
from grader.run.figures import MAX_FIGURE_BYTES, MAX_FIGURES, FigureCollector, decode_png, excerpt, png_size, prepare_matplotlib
from grader.run.verdicts import HIDDEN


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 4, height: int = 3, extra: bytes = b"") -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes(range(width % 256))[:width].ljust(width, b"\x01") for _ in range(min(height, 32)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + (chunk(b"prIv", extra) if extra else b"") + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_only_bounded_well_formed_pngs_are_figures():
    good = png(40, 30)
    figure = decode_png(b64(good))
    assert figure == Figure(png=b64(good), width=40, height=30) and png_size(good) == (40, 30)
    assert decode_png("\n".join(b64(good)[i : i + 76] for i in range(0, len(b64(good)), 76))) == figure  # lines, as nbformat keeps them
    assert decode_png([b64(good)[:10], b64(good)[10:]]) == figure
    broken = bytearray(good)
    broken[20] ^= 1  # the IHDR checksum no longer holds
    for bad in (
        '" onerror="alert(1)', "<svg onload=alert(1)>", b64(b"GIF89a" + good[6:]), b64(good[:-12]), b64(bytes(broken)),
        b64(png(100_000, 100_000)), b64(png(5000, 5000)), b64(png(8, 8, extra=bytes(MAX_FIGURE_BYTES))), 42, None, {"png": b64(good)},
    ):  # fmt: skip
        assert decode_png(bad) is None, bad


def output(mime: str, value: object) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={mime: value, "text/plain": "<Figure>"})


def test_the_collector_keeps_each_cells_pngs_within_the_caps():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("setup", metadata={HIDDEN: "setup"}),
        nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 2])"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("\n".join(f"line {i}" for i in range(40))),
        nbformat.v4.new_code_cell("train_mnist()", metadata={HIDDEN: "entry"}),
    ]
    notebook.cells[0].outputs = [output("image/png", b64(png()))]  # the grader's own cells show nothing
    notebook.cells[1].outputs = [output("image/png", b64(png(10, 10))), nbformat.v4.new_output("stream", text="hi"), output("image/svg+xml", "<svg/>")]
    notebook.cells[3].outputs = [output("image/png", b64(png(i + 1, 2))) for i in range(MAX_FIGURES + 5)]
    notebook.cells[4].outputs = [output("image/png", b64(png(7, 7)))]
    collector = FigureCollector()
    for index in range(len(notebook.cells)):
        collector.collect(notebook, index)
    cells = collector.cells
    assert [c.cell for c in cells] == [1, 3] and [len(c.figures) for c in cells] == [1, MAX_FIGURES - 1]
    assert cells[0].source.startswith("import matplotlib") and cells[1].source.endswith("line 11\n…")
    assert collector.left_out == 1 + 6 + 1  # the SVG, the images past the cap, and the entry call's
    entry_first = FigureCollector()
    entry_first.collect(notebook, 4)
    assert entry_first.cells[0].cell is None


def test_excerpt_is_bounded():
    assert excerpt("a\nb") == "a\nb" and excerpt(["a\n", "b"]) == "a\nb"
    assert excerpt("x" * 100_000).endswith("…") and len(excerpt("x" * 100_000)) < 2000
    assert excerpt(None) == ""


def test_the_font_cache_is_built_once_and_given_to_the_kernel(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    given: list[Path] = []
    prepare_matplotlib(tmp_path / "run" / "matplotlib", given.append)
    cached = list((tmp_path / "cache" / "grader").glob("matplotlib-*/fontlist-*.json"))
    assert len(cached) == 1 and given == [tmp_path / "run" / "matplotlib"]
    assert (tmp_path / "run" / "matplotlib" / cached[0].name).read_bytes() == cached[0].read_bytes()


def figures_result(callback_assignment, figures, left_out=0, data_files=()):
    from grader.pipeline import assemble

    info = ExecutionInfo(status="ok", figures=figures, figures_left_out=left_out)
    return assemble(callback_assignment, Path("s.ipynb"), "en", info, Recording(data_files=data_files), Evaluation(), None, [], 0.0)


def test_the_report_shows_the_figures_beside_their_cells(callback_assignment):
    good = Figure(png=b64(png(40, 30)), width=40, height=30)
    cells = (FigureCell(cell=2, source="plt.imshow(x_train[0])", figures=(good, good)), FigureCell(cell=None, source="train_mnist()", figures=(good,)))
    result = figures_result(callback_assignment, cells, left_out=3, data_files=("../datasets/mnist.npz",))
    html = render_report(result, callback_assignment, "en")
    assert html.count(f'<img src="data:image/png;base64,{good.png}" width="40" height="30"') == 3
    assert html.index("Cell 2") < html.index("plt.imshow(x_train[0])") < html.index("<img") < html.index("Your function, called by the grader")
    assert "3 more image(s) not shown: only PNG images are shown, at most 24 of at most 512 KB each." in html
    assert "Your code loaded ../datasets/mnist.npz: it got the grader&#39;s verified copy of MNIST (grading is offline)." in html
    zh = render_report(result, callback_assignment, "zh")
    assert "你的图像" in zh and "第 2 个单元格" in zh and "代码从 ../datasets/mnist.npz 加载数据" in zh


def test_the_report_checks_figures_again_and_drops_what_is_not_a_png(callback_assignment):
    hostile = (
        Figure(png='" onerror="alert(1)', width=1, height=1),
        Figure(png=b64(b"<svg onload=alert(1)>"), width=1, height=1),
        Figure(png=b64(png(100_000, 10)), width=10, height=10),
    )
    html = render_report(figures_result(callback_assignment, (FigureCell(cell=1, source="x", figures=hostile),)), callback_assignment, "en")
    assert "<img" not in html and "onerror" not in html and "alert" not in html
    assert "3 more image(s) not shown" in html
    many = (FigureCell(cell=1, source="x", figures=(Figure(png=b64(png()), width=4, height=3),) * (MAX_FIGURES + 10)),)
    assert render_report(figures_result(callback_assignment, many), callback_assignment, "en").count("<img") == MAX_FIGURES
    assert 'id="figures"' not in render_report(figures_result(callback_assignment, ()), callback_assignment, "en")


def test_figures_round_trip_through_result_json(callback_assignment):
    from grader.models import GradeResult

    good = Figure(png=b64(png()), width=4, height=3)
    result = figures_result(callback_assignment, (FigureCell(cell=1, source="x", figures=(good,)),), left_out=2, data_files=("a/mnist.npz",))
    again = GradeResult.from_dict(result.to_dict())
    assert again.execution.figures == result.execution.figures and again.execution.figures_left_out == 2
    assert again.recording.data_files == ("a/mnist.npz",)
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).resolve().parents[2] / "grader" / "schema" / "result.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(json.dumps(result.to_dict())), schema)
    broken = json.loads(json.dumps(result.to_dict()))
    broken["execution"]["figures"][0]["figures"][0]["width"] = "wide"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_an_unwritable_font_cache_only_costs_the_kernel_its_own(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    (tmp_path / "cache").write_text("a file where the cache folder would be", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    given: list[Path] = []
    prepare_matplotlib(tmp_path / "run" / "matplotlib", given.append)
    assert given == [tmp_path / "run" / "matplotlib"] and not list((tmp_path / "run" / "matplotlib").iterdir())
