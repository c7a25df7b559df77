"""The HTML feedback report: one self-contained page, a pure function of the `GradeResult`.

Everything the student produced (printed text, terminal output, source, tracebacks, names) is
hostile: `field`/`block` clean and bound it and Jinja2 escapes it, so a huge or malicious output
still gives a small, inert page. Every word of the page comes from `locales/<lang>/report.toml`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grader
from grader.assignment import Assignment
from grader.common.files import atomic_write
from grader.common.templates import environment, templates_dir  # noqa: F401 - templates_dir: for the tests
from grader.i18n import catalogue, translator
from grader.inside.terminal import ANSI, Screen
from grader.models import GradeResult
from grader.report import chart
from grader.run.figures import MAX_FIGURE_BYTES, MAX_FIGURES, decode_png

MAX_TEXT = 1_000  # one field: a message, an exception, a submitted file name
MAX_NAME = 80  # a layer name, class or shape
MAX_BLOCK = 8_000  # one block of output (an epoch's terminal, a traceback): its tail is kept
MAX_LINES = 60  # lines of one block, likewise
MAX_LINE = 300  # characters of one line
MAX_RAW = 200_000  # what is read of any one student text at all, before rendering it
MAX_ROWS = 200  # rows of the epoch and layer tables
MAX_ITEMS = 20  # errors and findings listed
SOURCE_CONTEXT = 12  # lines of the failing cell shown before and after the failing line
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # \t and \n stay
_CONTROL_CR = re.compile(r"[\x00-\x07\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # \b and \r stay too
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")  # made visible: they can disguise code ("Trojan Source")


@dataclass(frozen=True)
class Text:
    """Student text made safe to show: cleaned and bounded; `cut_*` count what was left out."""

    text: str
    cut_chars: int = 0
    cut_lines: int = 0

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


def clean(text: Any, keep_cr: bool = False) -> str:
    """No ANSI codes, control characters, lone surrogates or invisible direction overrides.

    `keep_cr` keeps the carriage returns and backspaces that `block`'s terminal then resolves.
    """
    text = ANSI.sub("", str(text or "").encode("utf-8", "replace").decode("utf-8")).replace("\r\n", "\n")
    text = (_CONTROL_CR if keep_cr else _CONTROL).sub("", text)
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def field(text: Any, limit: int = MAX_TEXT) -> Text:
    """A field: at most `limit` characters, from the start."""
    raw = str(text or "")
    value = clean(raw[:MAX_RAW])
    cut = max(0, len(raw) - MAX_RAW) + max(0, len(value) - limit)
    return Text(value[:limit] + ("…" if len(value) > limit else ""), cut_chars=cut)


def block(text: Any) -> Text:
    """Output as a terminal shows it (`\\r`, `\\b` and ANSI resolved), its last lines kept, each bounded."""
    raw = str(text or "")
    cut_chars = max(0, len(raw) - MAX_RAW)
    screen = Screen(max_lines=MAX_LINES, max_line_chars=MAX_LINE + 1)
    screen.write(clean(raw[-MAX_RAW:], keep_cr=True))
    lines = [line[:MAX_LINE] + "…" if len(line) > MAX_LINE else line for line in screen.text().split("\n")]
    value = "\n".join(lines).strip("\n")
    if len(value) > MAX_BLOCK:
        cut_chars += len(value) - MAX_BLOCK
        value = value[-MAX_BLOCK:]
    return Text(value, cut_chars=cut_chars, cut_lines=screen.dropped_lines)


def render_report(result: GradeResult, assignment: Assignment | None, lang: str) -> str:
    """The report page in `lang` ('en' or 'zh'; empty: the assignment's default)."""
    lang = lang or (assignment.default_lang if assignment else result.lang)
    msg = catalogue(lang)  # an unknown language: ValueError
    t = translator(lang, "report")

    def label(prefix: str, name: str) -> str:
        key = f"report.{prefix}_{name}"
        return msg[key] if key in msg else name.replace("_", " ")

    epochs = epoch_rows(result, assignment)
    return environment().get_template("report.html.j2").render(
        r=result,
        a=assignment,
        lang=lang,
        t=t,
        label=label,
        field=field,
        block=block,
        title=field(assignment.title_for(lang) if assignment else result.assignment, 300),
        submission=field(result.submission, 200),
        verdict=verdict_view(result),
        error=error_view(result),
        epochs=epochs[:MAX_ROWS],
        epochs_cut=max(0, len(epochs) - MAX_ROWS),
        charts=charts(epochs, assignment, t),
        stop=stop_view(epochs, result, assignment),
        model=model_view(result, assignment),
        figures=figures_view(result),
        data_files=data_files_view(result, assignment),
    )


def write_report(result: GradeResult, assignment: Assignment | None, lang: str, path: Path) -> Path:
    """Render the report and write it atomically to `path` (UTF-8); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, render_report(result, assignment, lang))


def verdict_view(result: GradeResult) -> dict[str, Any]:
    return {
        "failed": [c for c in result.checks if not c.passed and c.blocking],
        "warnings": [c for c in result.checks if not c.passed and not c.blocking],
        "state": "pass" if result.passed else "fail",
    }


def error_view(result: GradeResult) -> dict[str, Any] | None:
    """What went wrong while running: the student's cell and line, the exception, the student's frames."""
    info = result.execution
    if info.status == "ok" and not result.errors:
        return None
    source = None
    if info.source:
        lines = clean(info.source[:MAX_RAW]).replace("\r", "").split("\n")
        hit = info.line if info.line and 1 <= info.line <= len(lines) else None
        first = max(1, (hit or 1) - SOURCE_CONTEXT)
        last = min(len(lines), (hit or 1) + SOURCE_CONTEXT if hit else 2 * SOURCE_CONTEXT)
        rows = [(n, lines[n - 1][:MAX_LINE] + ("…" if len(lines[n - 1]) > MAX_LINE else ""), n == hit) for n in range(first, last + 1)]
        source = {"rows": rows, "before": first - 1, "after": len(lines) - last}
    own = str(Path(grader.__file__).resolve().parent)
    traceback = "\n".join(line for line in str(info.traceback or "")[-MAX_RAW:].split("\n") if own not in line)
    return {
        "status": info.status,
        "errors": [field(e) for e in (result.errors or (info.message,))[:MAX_ITEMS] if e],  # errors: in the report's language
        "cell": info.cell,
        "line": info.line,
        "source": source,
        "exception": field(info.exception),
        "traceback": block(traceback),
    }


@dataclass(frozen=True)
class EpochRow:
    number: int  # 1-based over every fit
    fit: int  # 1-based
    keras_epoch: int  # as Keras prints it ("Epoch 5/10")
    epochs_requested: int
    accuracy: float | None
    loss: float | None
    seconds: float
    stopped: bool  # the first epoch after which stop_training was set
    reached: bool  # the first epoch past the threshold
    over: bool  # beyond the epoch limit
    output: str  # raw terminal (or printed) text: shown only through `block`


def epoch_rows(result: GradeResult, assignment: Assignment | None) -> list[EpochRow]:
    training = assignment.training if assignment else None
    rows: list[EpochRow] = []
    stopped = reached = False
    for k, fit in enumerate(result.recording.fits, start=1):
        for e in fit.epochs:
            n = len(rows) + 1
            value = e.loss if training and training.below else e.accuracy
            is_reached = bool(training and not reached and training.reached(value))
            rows.append(EpochRow(n, k, e.epoch + 1, fit.epochs_requested, e.accuracy, e.loss, e.duration_s, e.stop_training and not stopped,
                                 is_reached, bool(training and n > training.max_epochs), e.terminal or e.printed))
            stopped, reached = stopped or e.stop_training, reached or is_reached
    return rows


def charts(epochs: list[EpochRow], assignment: Assignment | None, t: Any) -> dict[str, Any] | None:
    if not any(chart._finite(e.accuracy) or chart._finite(e.loss) for e in epochs):
        return None
    training = assignment.training if assignment else None
    threshold = training.threshold if training else None
    on_loss = bool(training and training.below)
    stop = next((e.number for e in epochs if e.stopped), None)
    limit = training.max_epochs if training else None
    shown = f"{threshold:g}" if on_loss and threshold is not None else (f"{threshold:.2%}" if threshold is not None else "")
    desc = [t("chart_desc_epochs", count=len(epochs))]
    accs = [e for e in epochs if chart._finite(e.accuracy)]
    losses = [e for e in epochs if chart._finite(e.loss)]
    if accs:
        desc.append(t("chart_desc_accuracy", first=f"{accs[0].accuracy:.2%}", last=f"{accs[-1].accuracy:.2%}", epoch=accs[-1].number))
    if losses:
        desc.append(t("chart_desc_loss", first=f"{losses[0].loss:.4f}", last=f"{losses[-1].loss:.4f}"))
    if threshold is not None:
        desc.append(t("chart_desc_threshold_loss" if on_loss else "chart_desc_threshold", value=shown))
    desc.append(t("chart_desc_stop", epoch=stop) if stop else t("chart_desc_no_stop"))
    if limit:
        desc.append(t("chart_desc_limit", limit=limit))
    labels = {
        "title": t("chart_title"), "desc": t("sentence_join").join(desc), "accuracy": t("chart_accuracy"), "loss": t("chart_loss"),
        "epoch": t("chart_epoch"), "threshold": t("chart_threshold", value=shown), "threshold_legend": t("chart_threshold_legend"),
        "limit": t("chart_limit", limit=limit or 0), "stopped": t("chart_stop", epoch=stop or 0), "fit": t("chart_fit"),
    }
    points = [chart.Point(e.number, e.accuracy, e.loss) for e in epochs]
    starts = [e.number for e in epochs if e.number == 1 or e.fit != epochs[e.number - 2].fit]
    common: dict[str, Any] = {
        "threshold": threshold, "threshold_on": "loss" if on_loss else "accuracy", "max_epochs": limit, "stop_epoch": stop, "fit_starts": starts,
    }
    return {
        "wide": chart.training_chart(points, labels, size=chart.WIDE, chart_id="curve-wide", **common),
        "narrow": chart.training_chart(points, labels, size=chart.NARROW, chart_id="curve-narrow", **common),
        "desc": labels["desc"],
    }


def stop_view(epochs: list[EpochRow], result: GradeResult, assignment: Assignment | None) -> dict[str, Any] | None:
    """The epochs around the stop and the first epoch past the threshold (else the last ones), as printed."""
    if not epochs:
        return None
    expected = tuple(assignment.training.stop_messages) if assignment else ()
    focus = {i for i, e in enumerate(epochs) if e.stopped or e.reached}
    indices = sorted({j for i in focus for j in (i - 1, i, i + 1) if 0 <= j < len(epochs)}) or list(range(max(0, len(epochs) - 2), len(epochs)))
    wanted = [" ".join(m.split()) for m in expected]
    shown = []
    for i in indices[-6:]:
        text = block(epochs[i].output)
        lines = [(line, any(w and w in " ".join(line.split()) for w in wanted)) for line in text.text.split("\n")]
        shown.append({"row": epochs[i], "lines": lines, "text": text})
    reached = next((e.number for e in epochs if e.reached), None)
    return {"expected": [field(m, 500) for m in expected], "epochs": shown, "reached": reached, "check": result.check("stop_message")}


def figures_view(result: GradeResult) -> dict[str, Any] | None:
    """The images the notebook displayed, by cell, each checked again to be a bounded PNG (a result
    may have been read back from a file): only those go into the page, as `data:` URIs."""
    cells, shown, dropped = [], 0, 0
    for group in result.execution.figures[:MAX_FIGURES]:
        kept = []
        for figure in group.figures:
            checked = decode_png(figure.png) if shown < MAX_FIGURES else None
            if checked is None:
                dropped += 1
                continue
            kept.append(checked)
            shown += 1
        if kept:
            cells.append({"cell": group.cell if isinstance(group.cell, int) else None, "source": field(group.source, 2000), "figures": kept})
    left_out = max(0, result.execution.figures_left_out) + dropped
    if not cells and not left_out:
        return None
    return {"cells": cells, "left_out": left_out, "most": MAX_FIGURES, "kb": MAX_FIGURE_BYTES // 1024}


DATASET_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def data_files_view(result: GradeResult, assignment: Assignment | None) -> dict[str, Any] | None:
    """The paths the submission loaded the data set from, which got the grader's copy: one line."""
    paths = result.recording.data_files
    if not paths:
        return None
    dataset = DATASET_TITLES.get(assignment.dataset, assignment.dataset) if assignment else "MNIST"
    return {"paths": [field(p, 200) for p in paths[:3]], "more": max(0, len(paths) - 3), "dataset": dataset}


def model_view(result: GradeResult, assignment: Assignment | None) -> dict[str, Any]:
    """The layers as measured, and each counted kind beside the assignment's limit or required count."""
    layers = result.recording.layers
    counts = {kind: sum(1 for layer in layers if layer.kind == kind) for kind in ("conv", "pool", "dense")}
    if not layers:
        counts.update(conv=result.metrics.conv_layers, pool=result.metrics.pooling_layers)
    limits, structure = (assignment.limits, assignment.structure) if assignment else (None, None)
    kinds = []
    for kind in ("conv", "pool", "dense"):
        most = getattr(limits, f"max_{kind}", None) if limits else None
        exact = getattr(structure, kind, None) if structure else None
        if most is None and exact is None and (kind == "dense" or not counts[kind]):
            continue
        bad = (most is not None and counts[kind] > most) or (exact is not None and counts[kind] != exact)
        kinds.append({"kind": kind, "count": counts[kind], "most": most, "exact": exact, "bad": bad, "ruled": most is not None or exact is not None})
    bad_kinds = {k["kind"] for k in kinds if k["bad"]}
    ruled = {k["kind"] for k in kinds if k["ruled"]}
    rows = [
        {"name": field(layer.name, MAX_NAME), "class_name": field(layer.class_name, MAX_NAME), "shape": field(layer.output_shape, MAX_NAME),
         "params": layer.params, "kind": layer.kind, "depth": min(max(layer.depth, 0), 8),
         "state": ("bad" if layer.kind in bad_kinds else "ruled") if layer.kind in ruled else ""}
        for layer in layers[:MAX_ROWS]
    ]
    return {
        "rows": rows,
        "cut": max(0, len(layers) - MAX_ROWS),
        "total_params": sum(layer.params for layer in layers if layer.depth == 0),
        "kinds": kinds,
        "model_class": field(result.recording.model_class, MAX_NAME) if result.recording.model_class else None,
        "required_class": structure.model_class if structure else None,
        "export_error": field(result.recording.export_error or result.evaluation.error or "", 1000),
    }
