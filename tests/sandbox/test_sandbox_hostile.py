"""The hostile corpus (tests/hostile/, one file per attack): each is graded for real, and each test
asserts both the verdict and what the host saw afterwards.

Attacks run under a small time limit and (mostly) train nothing, so each takes seconds. Wherever
isolation depends on the platform, the test asks the sandbox which mode was in force and asserts
what that mode promises (docs/security.md).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import sys
import time
import uuid

import pytest

from grader import options
from grader.i18n import t
from grader.sandbox import core as sb
from tests.support.hostile import GRACE, assert_contained, attack, connection_waiting, host_ip, host_still_works, isolating, processes_with, watch_for

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the sandbox is Linux's")]


# -- isolation --------------------------------------------------------------------------------


@isolating
def test_network_loopback(tmp_path, mode):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        g = attack(tmp_path, "network_loopback.py", mode=mode, PORT=port, HOST_IP=host_ip())
        assert not connection_waiting(listener), "the listener got a connection"
    finally:
        listener.close()
    assert g.status == "error" and g.result.execution.exception == "ConnectionError: no network"
    assert_contained(g)


@isolating
def test_read_home_canary(tmp_path, monkeypatch, mode):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    secret = f"CANARY-{uuid.uuid4().hex}"
    (home / "canary.txt").write_text(secret)
    monkeypatch.setenv("HOME", str(home))
    g = attack(tmp_path, "read_home_canary.py", mode=mode, report=True, CANARY=home / "canary.txt")
    assert g.status == "error" and "nothing readable" in g.result.execution.exception
    assert secret not in g.seen
    assert_contained(g)


@isolating
def test_read_reference_solution(tmp_path, mode):
    (tmp_path / "other_student.py").write_text("# another student's work\n")
    g = attack(tmp_path, "read_reference_solution.py", mode=mode, report=True)
    assert g.status == "error" and g.result.execution.exception == "RuntimeError: seen: []"
    assert "other_student" not in g.seen
    assert_contained(g)


@isolating
def test_symlink_escape(tmp_path, mode):
    secret = f"CANARY-{uuid.uuid4().hex}"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "canary.json").write_text(json.dumps({"fits": [], "model_class": secret}))
    g = attack(tmp_path, "symlink_escape.py", mode=mode, report=True, CANARY=secrets / "canary.json", CANARY_DIR=secrets)
    assert secret not in g.seen
    assert g.result.evaluation.test_accuracy is None
    assert_contained(g)


def test_fake_result_json(tmp_path):
    g = attack(tmp_path, "fake_result_json.py", report=True)
    assert "FAKE-RESULT" not in g.seen
    assert sorted(p.name for p in g.out.iterdir()) in (["result.json"], ["report.html", "result.json"])
    assert not (tmp_path / "result.json").exists()
    assert g.result.check("epoch_limit").message == t("en", "checks.no_training")
    assert_contained(g)


# -- limits -----------------------------------------------------------------------------------


def test_fork_bomb(tmp_path):
    g = attack(tmp_path, "fork_bomb.py")
    assert g.status == "too_many_processes", g.result.execution
    assert "processes" in g.result.execution.message
    assert_contained(g)
    host_still_works()


def test_memory_bomb(tmp_path):
    g = attack(tmp_path, "memory_bomb.py", memory_mb=1536)
    assert g.status == "out_of_memory", g.result.execution
    assert "1536 MB" in g.result.execution.message
    assert_contained(g)
    host_still_works()


def test_ignore_sigterm_sleep(tmp_path):
    g = attack(tmp_path, "ignore_sigterm_sleep.py", timeout=15)
    assert g.status == "timeout"
    assert "15 seconds" in g.result.execution.message
    assert g.elapsed < 15 + GRACE
    assert_contained(g, timeout=15)


def test_daemon_double_fork(tmp_path):
    marker = f"hostile-daemon-{uuid.uuid4().hex}"
    drop = tmp_path / "drop"
    drop.mkdir()
    drop.chmod(0o777)
    seen = watch_for(marker)
    g = attack(tmp_path, "daemon_double_fork.py", MARKER=marker, DROP=drop)
    assert seen.wait(0), "the daemon never ran"
    assert processes_with(marker) == []
    heartbeat = drop / "heartbeat"
    size = heartbeat.stat().st_size if heartbeat.exists() else 0
    time.sleep(1.0)
    assert (heartbeat.stat().st_size if heartbeat.exists() else 0) == size, "something still writes after grading"
    assert g.result.check("epoch_limit").message == t("en", "checks.no_training")
    assert_contained(g)


def test_huge_output(tmp_path):
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    g = attack(tmp_path, "huge_output.py")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 150_000, "the host held the 200 MB message"
    assert g.result.execution.output_truncated
    assert t("en", "checks.execution.output_truncated", limit=sb.Limits().output_chars) in g.result.errors
    assert (g.out / "result.json").stat().st_size < 1_000_000
    assert_contained(g)


def test_write_huge_file(tmp_path):
    g = attack(tmp_path, "write_huge_file.py")
    assert g.status == "error" and "File too large" in g.result.execution.exception
    assert f"larger than the limit of {sb.Limits().file_mb} MB" in g.result.execution.message
    assert_contained(g)


def test_fill_disk_run_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(options, "Limits", functools.partial(sb.Limits, disk_mb=256))
    g = attack(tmp_path, "fill_disk_run_folder.py")
    assert g.status == "error" and "more than 256 MB" in g.result.execution.message
    assert_contained(g)


# -- the kernel ends ----------------------------------------------------------------------------


def test_os_exit(tmp_path):
    g = attack(tmp_path, "os_exit.py")
    assert g.status == "kernel_died" and g.result.execution.cell == 1
    assert_contained(g)


def test_sys_exit(tmp_path):
    g = attack(tmp_path, "sys_exit.py")
    assert g.status == "kernel_died" and "sys.exit()" in g.result.execution.message
    assert not g.result.check("stop_message").passed
    assert_contained(g)


def test_kill_everything(tmp_path):
    g = attack(tmp_path, "kill_everything.py")
    assert g.status in ("error", "kernel_died")
    assert_contained(g)


# -- doctored training ------------------------------------------------------------------------


def test_patch_fit_fake_history(tmp_path):
    g = attack(tmp_path, "patch_fit_fake_history.py")
    assert g.result.check("epoch_limit").message == t("en", "checks.no_training")
    assert not g.result.check("accuracy_threshold").passed and not g.result.check("stop_message").passed
    assert_contained(g)


def test_eq_always_true(tmp_path):
    g = attack(tmp_path, "eq_always_true.py")
    assert g.result.metrics.train_accuracy is not None and g.result.metrics.train_accuracy < 0.5
    assert not g.result.check("accuracy_threshold").passed and not g.result.check("stop_message").passed
    assert_contained(g)


def test_doctored_logs_in_callback(tmp_path):
    g = attack(tmp_path, "doctored_logs_in_callback.py")
    assert g.result.recording.all_epochs[-1].accuracy < 0.5  # copied before the student's callback
    assert not g.result.check("accuracy_threshold").passed and not g.result.check("stop_message").passed
    assert_contained(g)


def test_fake_train_step_metrics(tmp_path):
    g = attack(tmp_path, "fake_train_step_metrics.py")
    assert g.status == "record_mismatch", g.result.execution
    assert g.result.evaluation.train_accuracy < 0.5
    assert_contained(g)


def test_forge_record(tmp_path):
    g = attack(tmp_path, "forge_record.py")
    assert g.status == "record_mismatch", g.result.execution
    assert not g.result.check("test_accuracy").passed
    assert_contained(g)


# -- the file itself ----------------------------------------------------------------------------


def test_saved_outputs_claim_pass(tmp_path):
    g = attack(tmp_path, "saved_outputs_claim_pass.ipynb")
    assert g.status == "ok" and g.result.recording.fits == ()
    assert g.result.check("epoch_limit").message == t("en", "checks.no_training")
    assert_contained(g)


def test_not_a_notebook(tmp_path):
    g = attack(tmp_path, "not_a_notebook.ipynb")
    assert g.status == "invalid" and "not a valid notebook" in g.result.execution.message
    assert_contained(g)


@isolating
def test_hunt_evaluation(tmp_path, mode):
    g = attack(tmp_path, "hunt_evaluation.py", mode=mode)
    assert g.uid not in (None, 0) or not sandbox_is_root()
    assert g.status == "ok", g.result.execution
    assert g.result.evaluation.error is None and g.result.evaluation.test_images == 10000
    assert 0.2 < g.result.evaluation.test_accuracy < 0.9  # its own model (one epoch on 512 images), nothing planted
    assert_contained(g)


def sandbox_is_root() -> bool:
    return os.geteuid() == 0

