"""`grader regrade` on the command line: a dry run changes nothing, a regrade commits, a missing
folder is a usage error."""

from __future__ import annotations

import json

from grader.cli.main import main
from grader.errors import EXIT_PASSED, EXIT_USAGE
from tests.regrade.regrade_helpers import CLASS, edit


def test_regrade_dry_run_then_regrade(graded, assignment_folder, capsys):
    _, out, _ = graded({"bob": CLASS["bob"]})
    edit(assignment_folder, "threshold = 0.99 ", "threshold = 0.98 ")
    assert main(["regrade", str(out), "--dry-run"]) == EXIT_PASSED
    assert "bob: 3 → 5 of 5 (+2), now passes" in capsys.readouterr().out
    assert json.loads((out / "bob" / "result.json").read_text())["passed"] is False
    assert main(["regrade", str(out), "-a", str(assignment_folder), "--lang", "en"]) == EXIT_PASSED
    assert "1 result(s) judged again and committed" in capsys.readouterr().out
    assert json.loads((out / "bob" / "result.json").read_text())["passed"] is True


def test_regrade_of_nothing_is_a_usage_error(tmp_path, capsys):
    assert main(["regrade", str(tmp_path / "missing")]) == EXIT_USAGE
    assert "missing" in capsys.readouterr().err
