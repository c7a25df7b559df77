"""The CLI in-process: exit codes, outputs, and every command documented in the README."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from grader.cli.main import cli, main

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
    assert main(["grade", str(sub), "--lang", "fr"]) == 2


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
    commands = list(cli.commands)
    assert len(commands) >= 10
    for command in commands:
        assert f"grader {command}" in readme, f"`grader {command}` is not documented in README.md"


# ------------------------------------------------------------------------------- the command line itself (click)


def test_a_value_click_rejects_is_a_usage_error_that_says_what_is_wrong(tmp_path, capsys):
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    assert main(["grade", str(sub), "--lang", "fr"]) == 2
    err = capsys.readouterr().err
    assert "Usage: grader grade" in err and "'--lang'" in err and "'fr'" in err


def test_missing_arguments_and_options_are_usage_errors(tmp_path, capsys):
    assert main(["grade"]) == 2
    assert "Missing argument 'SUBMISSION'" in capsys.readouterr().err
    assert main(["batch", str(tmp_path), "-a", "mnist-callback"]) == 2  # no -o
    assert "'-o' / '--out'" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "a.py"), "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert "No such option" in err and "--no-such-option" in err


def test_an_unknown_command_is_a_usage_error(capsys):
    assert main(["regarde"]) == 2
    captured = capsys.readouterr()
    assert "No such command 'regarde'" in captured.err and captured.out == ""


def test_version(capsys):
    from grader import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"grader {__version__}"


def test_no_command_shows_the_help_and_succeeds(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Usage: grader" in out and all(name in out for name in cli.commands)
    assert main(["data"]) == 0
    assert "fetch" in capsys.readouterr().out


@pytest.mark.parametrize("command", [[], *([name] for name in cli.commands), ["data", "fetch"]])
def test_every_command_has_help(command, capsys):
    assert main([*command, "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: grader {' '.join(command)}".rstrip()) and "-h, --help" in out


def test_the_shared_grading_options_reach_the_library(tmp_path, monkeypatch):
    """grade, check, batch and gradescope take the same grading options, turned into Options in one place."""
    import grader.cli.options
    from grader.options import Options

    seen: list[Options] = []
    real = grader.cli.options.to_options

    def spy(grading):
        seen.append(real(grading))
        raise SystemExit(7)  # stop before anything is graded

    for module in ("grade", "batch", "gradescope"):
        monkeypatch.setattr(f"grader.cli.{module}.to_options", spy)
    sub = tmp_path / "a.py"
    sub.write_text("x = 1")
    given = ["-a", "mnist-callback", "--timeout", "90", "--lang", "zh", "--entry", "train", "--seed", "3", "--data-dir", str(tmp_path),
             "--sandbox", "none", "--memory", "1024", "--full"]
    for command in (["grade", str(sub)], ["check", str(sub), "--no-open"], ["batch", str(sub), "-o", str(tmp_path / "o")],
                    ["gradescope", "--submission-dir", str(tmp_path), "--results", str(tmp_path / "r.json")]):
        with pytest.raises(SystemExit):
            main([*command, *given])
    expected = Options(lang="zh", timeout_s=90.0, seed=3, entry="train", data_dir=tmp_path, full=True, sandbox="none", memory_mb=1024)
    assert seen == [expected] * 4


def test_python_m_grader_runs_the_command_line():
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "grader", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("grader ")


def test_nothing_outside_the_command_line_imports_it():
    import ast

    importers = []
    for path in (ROOT / "grader").rglob("*.py"):
        if "cli" in path.relative_to(ROOT / "grader").parts[:1] or path.name == "__main__.py" and path.parent.name == "grader":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "grader.cli" or n.startswith("grader.cli.") for n in names):
                importers.append(str(path.relative_to(ROOT)))
    assert importers == []
