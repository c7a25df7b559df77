"""The CLI in-process: exit codes, outputs, and every command documented in the README."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from grader.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "grader" / "schema" / "result.schema.json").read_text())


def test_list_prints_both_assignments(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "mnist-callback" in out and "mnist-conv" in out


def test_unknown_assignment_is_a_usage_error(tmp_path, capsys):
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    assert main(["grade", str(sub), "-a", "mnist-nope", "-o", str(tmp_path / "out")]) == 2
    assert "unknown assignment 'mnist-nope'" in capsys.readouterr().err


def test_missing_submission_is_a_usage_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "missing.ipynb"), "-a", "mnist-callback", "-o", str(tmp_path)]) == 2
    assert "no such file" in capsys.readouterr().err


def test_no_assignment_and_no_metadata_is_a_usage_error(tmp_path, capsys):
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    assert main(["grade", str(sub), "-o", str(tmp_path / "out")]) == 2
    assert "pass -a ASSIGNMENT" in capsys.readouterr().err


def test_bad_options_are_usage_errors(tmp_path):
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    assert main(["grade", str(sub), "-a", "mnist-callback", "--timeout", "-5"]) == 2
    assert main(["grade", str(sub), "-a", "mnist-callback", "--entry", "os.system"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["grade", str(sub), "--lang", "fr"])
    assert exc.value.code == 2


def test_invalid_notebook_is_a_graded_failure_with_a_valid_result(tmp_path, mnist_store, capsys):
    sub = tmp_path / "broken.ipynb"
    sub.write_text("{ not json")
    out = tmp_path / "out"
    assert main(["grade", str(sub), "-a", "mnist-callback", "-o", str(out), "--lang", "en"]) == 1
    result = json.loads((out / "result.json").read_text())
    jsonschema.validate(result, SCHEMA)
    assert result["passed"] is False and result["execution"]["status"] == "invalid"
    assert any("not a valid notebook" in e for e in result["errors"])
    assert (out / "report.html").is_file()
    assert "FAILED" in capsys.readouterr().out


def test_internal_faults_exit_3_without_a_traceback(tmp_path, monkeypatch, capsys):
    import grader.pipeline

    def boom(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(grader.pipeline, "grade", boom)
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    assert main(["grade", str(sub), "-a", "mnist-callback", "-o", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: bug" in err and "Traceback" not in err


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = re.findall(r"^\s{4}(\w[\w-]*)\s", build_parser().format_help(), re.MULTILINE)
    assert commands
    for command in commands:
        assert f"grader {command}" in readme, f"`grader {command}` is not documented in README.md"
