"""JUnit XML (the Ant/Jenkins dialect that CI dashboards read): one test suite per student.

Each check is a test case: a failed check is a `<failure>`; a failed advisory check (one that
does not decide `passed`) is `<skipped>`; when the grading itself crashed, the `execution`
case is an `<error>`. Suite properties carry the score.
"""

from __future__ import annotations

import datetime as _dt
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from grader.exports.common import Entry, ExportSettings
from grader.i18n import LANGS, t

FILENAME = "exports/junit.xml"
_XML_BAD = dict.fromkeys(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))


def clean(text: str) -> str:
    """Text XML 1.0 can hold (control characters a submission printed are dropped)."""
    return str(text).translate(_XML_BAD).replace("\ufffe", "").replace("\uffff", "")


def timestamp(iso: str) -> str:
    """xs:dateTime without a zone, as the JUnit schema wants (UTC)."""
    try:
        moment = _dt.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        moment = _dt.datetime.now(_dt.timezone.utc)
    if moment.tzinfo is not None:
        moment = moment.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat()


def render(entries: Sequence[Entry], settings: ExportSettings) -> str:
    root = ET.Element("testsuites", name=clean(f"grader: {settings.assignment_id}"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    host = socket.gethostname()
    for suite_id, e in enumerate(entries):
        r = e.result
        lang = r.lang if r.lang in LANGS else "en"  # the labels speak the result's language
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(root, "testsuite", name=clean(e.student), id=str(suite_id), package=clean(settings.assignment_id),
                              timestamp=timestamp(e.graded_at), hostname=clean(host), time=f"{max(0.0, r.duration_s):.3f}")
        props = ET.SubElement(suite, "properties")
        for name, value in (("assignment", r.assignment), ("submission", r.submission), ("passed", str(r.passed).lower()),
                            ("score", f"{r.score:g}"), ("max_score", f"{r.max_score:g}"), ("execution_status", r.execution.status),
                            ("grader_version", r.grader_version)):
            ET.SubElement(props, "property", name=name, value=clean(value))
        for check in r.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", name=clean(check.id), classname=clean(f"{settings.assignment_id}.{e.student}"), time="0")
            if check.passed:
                continue
            extras = (("required", check.required), ("measured", check.measured), ("hint", check.hint))
            labelled = [t(lang, f"summary.junit.{label}", value=value) for label, value in extras if value]
            detail = clean("\n".join(x for x in (check.message, *labelled) if x))
            if e.outcome == "crashed" and check.id == "execution":
                counts["errors"] += 1
                ET.SubElement(case, "error", message=clean(check.message)[:1000], type="grader-crash").text = detail
            elif not check.blocking:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=clean(t(lang, "summary.junit.advisory", value=check.message))[:1000])
            else:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=clean(check.message)[:1000], type="check").text = detail
        for key, count in counts.items():
            suite.set(key, str(count))
            totals[key] += count
        total_time += max(0.0, r.duration_s)
        ET.SubElement(suite, "system-out").text = clean("\n".join(r.errors))
        ET.SubElement(suite, "system-err").text = ""
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def files(entries: Sequence[Entry], settings: ExportSettings) -> dict[str, str]:
    return {FILENAME: render(entries, settings)}
