"""The HTML feedback report: one self-contained page, a pure function of the `GradeResult`.

Everything the student produced (printed text, source, tracebacks, names) is hostile: Jinja2
escapes it and `clip` bounds it, so a huge or malicious output still gives a small, inert page.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from grader.assignment import Assignment
from grader.chart import Marker, Series, line_chart
from grader.i18n import catalogue
from grader.models import EpochRecord, GradeResult

MAX_TEXT = 6000
MAX_LINES = 80
MAX_LAYERS = 200


def templates_dir() -> Path:
    """The repo's `templates/` in a source checkout, else the copy the wheel ships."""
    source = Path(__file__).resolve().parent.parent / "templates"
    return source if (source / "report.html.j2").is_file() else Path(str(resources.files("grader") / "templates"))


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.2f}%"
    env.filters["clip"] = clip
    return env


def clip(text: str, limit: int = MAX_TEXT, max_lines: int = MAX_LINES) -> str:
    """At most `limit` characters and `max_lines` lines, keeping the end (where errors are)."""
    lines = text.splitlines()
    if len(lines) > max_lines:
        text = f"… [{len(lines) - max_lines} lines]\n" + "\n".join(lines[-max_lines:])
    if len(text) > limit:
        text = f"… [{len(text) - limit} characters]\n" + text[-limit:]
    return text


def render_report(result: GradeResult, assignment: Assignment | None, lang: str) -> str:
    msg = catalogue(lang)
    return environment().get_template("report.html.j2").render(
        r=result,
        a=assignment,
        lang=lang,
        t=lambda key, **values: msg[f"report.{key}"].format(**values),
        title=assignment.title_for(lang) if assignment else result.assignment,
        chart_accuracy=accuracy_chart(result, assignment, msg),
        chart_loss=loss_chart(result, msg),
        stop=stop_view(result, assignment),
        layers=result.recording.layers[:MAX_LAYERS],
        limits=assignment.limits if assignment else None,
        epochs=result.recording.all_epochs,
        total_epoch_seconds=sum(e.duration_s for e in result.recording.all_epochs),
    )


def write_report(result: GradeResult, assignment: Assignment | None, lang: str, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_report(result, assignment, lang), encoding="utf-8")
    tmp.replace(path)
    return path


def accuracy_chart(result: GradeResult, assignment: Assignment | None, msg: dict[str, str]) -> str:
    epochs = result.recording.all_epochs
    if not epochs or all(e.accuracy is None for e in epochs):
        return ""
    thresholds, marks = [], []
    if assignment:
        thresholds.append(Marker(msg["report.chart_threshold"].format(value=f"{assignment.training.threshold:.1%}"), assignment.training.threshold, "threshold"))
        if len(epochs) >= assignment.training.max_epochs - 2:
            marks.append(Marker(msg["report.chart_limit"].format(limit=assignment.training.max_epochs), assignment.training.max_epochs, "limit"))
    stopped = next((i for i, e in enumerate(epochs) if e.stop_training), None)
    if stopped is not None:
        marks.append(Marker(msg["report.chart_stop"].format(epoch=stopped + 1), stopped + 1, "stop"))
    series = [Series(msg["report.chart_accuracy"], tuple(e.accuracy for e in epochs), "series-accuracy")]
    return line_chart(msg["report.chart_accuracy_title"], series, len(epochs), thresholds, marks, msg["report.chart_epoch"])


def loss_chart(result: GradeResult, msg: dict[str, str]) -> str:
    epochs = result.recording.all_epochs
    if not epochs or all(e.loss is None for e in epochs):
        return ""
    series = [Series(msg["report.chart_loss"], tuple(e.loss for e in epochs), "series-loss")]
    return line_chart(msg["report.chart_loss_title"], series, len(epochs), [], [], msg["report.chart_epoch"])


def stop_view(result: GradeResult, assignment: Assignment | None) -> dict[str, Any] | None:
    """The epochs around the stop (or the last ones): what the terminal showed there."""
    epochs = result.recording.all_epochs
    if not epochs:
        return None
    threshold = assignment.training.threshold if assignment else 1.0
    crossing = next((i for i, e in enumerate(epochs) if e.accuracy is not None and e.accuracy > threshold), None)
    focus = crossing if crossing is not None else len(epochs) - 1
    shown: list[tuple[int, EpochRecord]] = [(i + 1, epochs[i]) for i in range(max(0, focus - 1), min(len(epochs), focus + 2))]
    return {"crossing": crossing + 1 if crossing is not None else None, "epochs": shown, "expected": assignment.training.stop_messages if assignment else ()}
