"""The attacks on the host's reading of hostile input (tests/hostile/), graded for real by
`grader grade` in a subprocess with a private TMPDIR (so that the grading folder it leaves, if any,
is seen), and the host process's own memory measured there. The fast tests of the same defences
are in test_host_input.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from grader.i18n import t
from tests.support.hostile import HOSTILE
from tests.support.repository import SCHEMA

pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("remove_deep_trees")]  # `grader grade` in a subprocess

# -- the attacks, graded for real -------------------------------------------------------------

RUNNER = """
import json, resource, sys
import grader.pipeline, grader.report.outputs, grader.report.html  # the host's own imports, before the baseline
from grader.cli.main import main
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = main(sys.argv[2:])
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
open(sys.argv[1], "w").write(json.dumps({"before_kb": before, "after_kb": after}))
sys.exit(code)
"""


@dataclass
class Graded:
    code: int
    result: dict
    out: Path
    grown_kb: int  # growth of the grading process's peak memory while it graded
    stderr: str

    @property
    def execution(self) -> dict:
        return self.result["execution"]


def grade_cli(tmp_path: Path, submission: Path, *extra: str, timeout: int = 60) -> Graded:
    """`grader grade` in a subprocess whose TMPDIR is private: the grading folder must be gone after."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir()
    os.chmod(tmp, 0o755)  # the sandbox's uid passes through to its folders
    out, memory = tmp_path / "out", tmp_path / "memory.json"
    argv = [sys.executable, "-c", RUNNER, str(memory), "grade", str(submission), "-a", "mnist-callback", "-o", str(out), "--timeout", str(timeout), *extra]
    done = subprocess.run(argv, env={**os.environ, "TMPDIR": str(tmp)}, capture_output=True, text=True, timeout=timeout + 120)
    assert "Traceback" not in done.stderr, done.stderr
    assert list(tmp.iterdir()) == [], "the grading folder outlived the grading"
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    jsonschema.validate(result, SCHEMA)
    used = json.loads(memory.read_text())
    return Graded(done.returncode, result, out, used["after_kb"] - used["before_kb"], done.stderr)


def assert_failed(g: Graded) -> None:
    assert g.code == 1 and g.result["passed"] is False, g.stderr
    assert (g.out / "report.html").is_file()


def test_deep_nesting_notebook(tmp_path):
    g = grade_cli(tmp_path, HOSTILE / "deep_nesting_notebook.ipynb", "--lang", "zh")
    assert_failed(g)
    assert g.execution["status"] == "invalid"
    assert "其 JSON 嵌套超过 64 层" in g.result["errors"][0]


def test_huge_int_notebook(tmp_path):
    g = grade_cli(tmp_path, HOSTILE / "huge_int_notebook.ipynb", "--lang", "en")
    assert_failed(g)
    assert g.execution["status"] == "invalid" and "an integer of more than 100 digits" in g.result["errors"][0]


def test_forge_record_huge_int(tmp_path):
    g = grade_cli(tmp_path, HOSTILE / "forge_record_huge_int.py", "--lang", "en")
    assert_failed(g)
    assert any("record of your training was damaged" in e and "more than 100 digits" in e for e in g.result["errors"])
    assert g.result["recording"]["fits"] == []


def test_surrogate_print(tmp_path):
    g = grade_cli(tmp_path, HOSTILE / "surrogate_print.py", "--lang", "en")
    assert_failed(g)
    assert g.execution["status"] == "error" and g.execution["exception"] == "ValueError: \ufffd"
    printed = [e["printed"] for f in g.result["recording"]["fits"] for e in f["epochs"]]
    assert printed and "\ufffd" in printed[0]
    (g.out / "report.html").read_text(encoding="utf-8")


def test_deep_model_tree(tmp_path):
    g = grade_cli(tmp_path, HOSTILE / "deep_model_tree.py", "--lang", "en")
    assert_failed(g)
    killed_for_disk = "folder tree too large to measure" in g.execution["message"]
    assert killed_for_disk or "too large to read" in (g.result["evaluation"]["error"] or ""), (g.execution["message"], g.result["evaluation"]["error"])


def test_error_flood(tmp_path):
    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / "hello.py").write_text("print('hello')\n")
    quiet = grade_cli(tmp_path / "quiet", tmp_path / "quiet" / "hello.py", "--lang", "en")
    (tmp_path / "flood").mkdir()
    g = grade_cli(tmp_path / "flood", HOSTILE / "error_flood.py", "--lang", "en")
    assert_failed(g)
    assert g.execution["output_truncated"] is True
    assert t("en", "checks.execution.output_truncated", limit=2_000_000) in g.result["errors"]
    assert g.grown_kb - quiet.grown_kb < 100_000, f"the host grew {g.grown_kb} KiB for 240 MB of errors ({quiet.grown_kb} KiB for one line)"
    assert (g.out / "result.json").stat().st_size < 1_000_000
