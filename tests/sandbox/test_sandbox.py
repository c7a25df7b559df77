"""The sandbox's parts, without a kernel: modes, limits, the launcher, cleanup, and the host's
defences against what a sandbox may leave behind (links, floods, forged answers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grader.models import EpochRecord, Evaluation, FitRecord, Recording
from grader.pipeline import record_mismatch
from grader.run.evaluate import _answer, unsafe_tree
from grader.sandbox import cgroups
from grader.sandbox import core as sb
from grader.sandbox import modes as sandbox_modes
from grader.sandbox import mounts as sandbox_mounts
from grader.sandbox.limits import MiB
from grader.sandbox.output import OutputSink, directory_size
from tests.support.hostile import HOSTILE
from tests.support.sandbox import AVAILABLE, linux, needs_bwrap, root, run_in

# -- modes ------------------------------------------------------------------------------------


def test_unknown_mode_is_a_usage_error():
    with pytest.raises(sandbox_modes.SandboxError, match="unknown sandbox mode"):
        sandbox_modes.resolve_mode("docker")


def test_asking_for_missing_bubblewrap_fails_instead_of_degrading(monkeypatch):
    monkeypatch.setattr(sandbox_modes, "bwrap_path", lambda: None)
    with pytest.raises(sandbox_modes.SandboxError, match="bubblewrap"):
        sandbox_modes.resolve_mode("bwrap")


def test_auto_takes_bubblewrap_then_unshare_and_otherwise_refuses(monkeypatch):
    monkeypatch.setattr(sandbox_modes, "bwrap_path", lambda: None)
    monkeypatch.setattr(sandbox_modes, "unshare_path", lambda: "/usr/bin/unshare")
    assert sandbox_modes.resolve_mode("auto") == "unshare"
    monkeypatch.setattr(sandbox_modes, "unshare_path", lambda: None)
    with pytest.raises(sandbox_modes.SandboxError, match="install bubblewrap") as refused:
        sandbox_modes.resolve_mode("auto")
    assert refused.value.exit_code == 2 and "--sandbox none" in str(refused.value)


@linux
def test_this_machine_isolates_untrusted_code():
    """Fail closed, and never skip past it: on Linux, CI and every grading machine must offer an
    isolating mode (`.ci/run` runs the suite with bubblewrap and again with it hidden)."""
    assert sandbox_modes.resolve_mode("auto") in sandbox_modes.ISOLATING
    expected = os.environ.get("GRADER_EXPECT_SANDBOX")
    if expected:  # set by .ci/run's second pass, so a silent fallback cannot pass for the mode meant
        assert sandbox_modes.resolve_mode("auto") == expected


@linux
@pytest.mark.parametrize("box", AVAILABLE + ["none"], indirect=True)
def test_describe_says_which_isolation_was_in_force(box):
    box.new_run("kernel")
    text = box.describe()
    assert text.startswith({"bwrap": "bubblewrap", "unshare": "unshare", "none": "UNSAFE, no sandbox"}[box.mode])
    assert "memory 4096 MiB" in text and "tasks" in text


def test_default_limits_fit_tensorflow():
    limits = sb.Limits()
    assert limits.memory_mb >= 2048  # MNIST training peaks near 1.2 GiB (docs/security.md)
    assert limits.max_tasks >= 512 and limits.data_bytes > limits.memory_mb * MiB


# -- the launcher -----------------------------------------------------------------------------


@linux
@root
@pytest.mark.parametrize("box", AVAILABLE, indirect=True)
def test_the_code_runs_unprivileged_and_limited(box):
    assert box.uid is not None  # as root, an isolating mode always runs the code as a uid of its own
    code = (
        "import os, resource\n"
        "status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines())\n"
        "print(os.getuid(), os.getgid(), os.getgroups(), resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_FSIZE)[0],"
        " resource.getrlimit(resource.RLIMIT_CORE)[0], [status[k].strip() for k in ('CapEff', 'CapPrm', 'CapBnd', 'NoNewPrivs')])"
    )
    proc, _ = run_in(box, code)
    assert proc.returncode == 0, proc.stderr
    limits = box.limits
    zero = "0000000000000000"
    assert proc.stdout.strip() == f"{box.uid} {box.uid} [] {limits.max_tasks} {limits.file_mb * MiB} 0 {[zero, zero, zero, '1']}"


@linux
@pytest.mark.kernel  # a gigabyte written in the sandbox
def test_file_size_limit(box):
    proc, _ = run_in(box, "open('big', 'wb').write(b'x' * (1100 << 20))")
    assert proc.returncode != 0 and "File too large" in proc.stderr


# -- isolation, per mode ----------------------------------------------------------------------


@linux
@pytest.mark.parametrize("box", AVAILABLE, indirect=True)
def test_isolation_hides_home_repository_and_network(box, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "canary.txt").write_text("secret")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    repo = Path(sb.__file__).resolve().parent.parent
    hidden = [str(home / "canary.txt"), str(home), str(repo / "tests"), str(repo / ".git"), "/root/.bashrc", "/home"]
    code = (
        "import os, socket\n"
        f"print([p for p in {hidden!r} if os.path.exists(p)])\n"
        f"try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=2); print('CONNECTED')\nexcept OSError as e:\n    print('refused', e)\n"
        "print(os.getcwd(), os.listdir('.'), os.access('/usr', os.W_OK), os.access('/tmp', os.W_OK))"
    )
    proc, _ = run_in(box, code)
    listener.settimeout(0.5)
    with pytest.raises(socket.timeout):
        listener.accept()
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stderr
    assert lines[0] == "[]"
    assert lines[1].startswith("refused")  # bubblewrap: a loopback of its own; unshare: no network at all
    assert lines[2].endswith("[] False True")  # an empty private working folder; the system read-only


@linux
@pytest.mark.parametrize("box", AVAILABLE, indirect=True)
def test_kill_ends_daemons_and_double_forks(box):
    marker = f"hostile-{uuid.uuid4().hex}"
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sh', ['sh', '-c', 'trap \"\" TERM INT HUP; while :; do sleep 0.1; done', {marker[::-1]!r}[::-1]])\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
    )
    run = box.new_run("test")
    cwd = box.root / "work"
    cwd.mkdir(exist_ok=True)
    box.give(cwd)
    proc = subprocess.Popen(box.command(run, [sys.executable, "-c", code], cwd=cwd), cwd=cwd, start_new_session=True)
    run.attach(proc.pid)
    deadline = time.monotonic() + 30
    while not marker_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert marker_processes(marker), "the daemon never started"  # only the daemon has the marker in its command line
    run.kill()
    proc.wait(5)
    assert marker_processes(marker) == []


def marker_processes(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if marker.encode() in cmdline and state != "Z":
                found.append(int(name))
    return found


@linux
def test_cgroup_limits_and_removal():
    group = cgroups.Cgroup(f"grader-test-{uuid.uuid4().hex[:8]}", 1536 * MiB, 99)
    if not group.dirs:
        pytest.skip("no writable cgroup here")
    try:
        if group.memory:
            name = "memory.max" if group.memory[0] == "v2" else "memory.limit_in_bytes"
            assert int((group.memory[1] / name).read_text()) == 1536 * MiB
        if group.pids:
            assert (group.pids[1] / "pids.max").read_text().strip() == "99"
    finally:
        group.remove()
    assert not any(d.exists() for d in group.dirs)


# -- what the host reads from the sandbox -----------------------------------------------------


def test_output_sink_keeps_bounded_head_and_tail():
    sink = OutputSink(keep_head=100, keep_tail=100)
    with os.fdopen(os.dup(sink.write_fd), "wb") as fh:
        fh.write(b"a" * 5_000_000 + b"END")
    sink.finish()
    assert sink.total == 5_000_003 and sink.truncated
    assert sink.text("head") == "a" * 100 and sink.text().endswith("END") and len(sink.text()) == 100


def test_directory_size_counts_files_not_link_targets(tmp_path):
    (tmp_path / "a").write_bytes(b"x" * 100_000)
    (tmp_path / "link").symlink_to("/usr")
    assert 100_000 <= directory_size(tmp_path) < 200_000


def test_unsafe_tree_refuses_links_and_special_files(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"")
    assert unsafe_tree(model) is None
    (model / "variables").symlink_to("/etc")
    assert "link" in unsafe_tree(model)
    (model / "variables").unlink()
    os.mkfifo(model / "fifo")
    assert "special file" in unsafe_tree(model)
    link = tmp_path / "elsewhere"
    link.symlink_to(model)
    assert "symbolic link" in unsafe_tree(link)


def test_evaluation_answer_needs_the_token():
    sink = OutputSink(keep_head=1 << 16)
    with os.fdopen(os.dup(sink.write_fd), "w") as fh:
        fh.write('{"test_accuracy": 1.0}\nTOKEN-NOT{"test_accuracy": 1.0}\nabc123{"test_accuracy": 0.42}\n')
    sink.finish()
    assert _answer(sink, "abc123") == {"test_accuracy": 0.42}
    assert _answer(sink, "other") is None


def _recording(last: float) -> Recording:
    epoch = EpochRecord(epoch=0, metrics={"accuracy": last}, accuracy=last, loss=0.1, stop_training=True, printed="", duration_s=1.0)
    return Recording(fits=(FitRecord(epochs_requested=10, initial_epoch=0, accuracy_metric="accuracy", epochs=(epoch,)),))


@pytest.mark.parametrize(("recorded", "measured", "flagged"), [
    (0.995, 0.10, True), (0.995, 0.95, True), (0.991, 0.985, False), (0.97, 0.99, False), (0.995, None, False),
])
def test_recorded_accuracy_is_checked_against_the_model(recorded, measured, flagged):
    message = record_mismatch(_recording(recorded), Evaluation(test_accuracy=0.98, train_accuracy=measured), "en")
    assert bool(message) == flagged
    if flagged:
        assert f"{recorded * 100:.2f}%" in message


@linux
@needs_bwrap
def test_bubblewrap_as_an_unprivileged_user_uses_a_user_namespace(tmp_path, monkeypatch):
    monkeypatch.setattr(sb, "is_root", lambda: False)
    box = sb.Sandbox(tmp_path / "box", mode="bwrap")
    try:
        assert box.uid is None
        run = box.new_run("test")
        cmd = box.command(run, [sys.executable, "-c", "print('ok')"], cwd=box.root / "work")
        assert "--unshare-user" in cmd and "--uid" not in cmd[cmd.index("drop") :]
        proc, _ = run_in(box, "import os, socket; print(os.path.exists(os.path.expanduser('~root/.bashrc')), socket.if_nameindex())")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("False [(1, 'lo')]")
        assert "user namespace" in box.describe()
    finally:
        box.close()


def test_a_source_checkout_is_mounted_as_its_package_only():
    package = Path(sb.__file__).resolve().parent
    paths = sandbox_mounts.runtime_paths()
    assert package in paths or any(p in package.parents for p in paths)
    checkout = package.parent
    if (checkout / "pyproject.toml").exists():
        assert checkout not in paths and not any(p == checkout or p in checkout.parents for p in paths if p != Path("/"))


def test_the_unsafe_mode_is_named_in_every_output(tmp_path):
    """`--sandbox none` is stated in the terminal summary, the report and the class summary."""
    from grader.exports import ExportSettings
    from grader.exports.summary import context
    from grader.models import ExecutionInfo, GradeResult, Metrics
    from grader.report.summary import summary

    info = ExecutionInfo(status="ok", sandbox=sb.ISOLATION["none"])
    assert info.unsafe and not ExecutionInfo(status="ok", sandbox=sb.ISOLATION["unshare"]).unsafe
    result = GradeResult(assignment="mnist-callback", submission="a.py", passed=True, score=5, max_score=5, checks=(), metrics=Metrics(), errors=(),
                         duration_s=1.0, execution=info)
    assert "UNSAFE: graded without a sandbox" in summary(result)
    from grader.assignment import find_assignment
    from grader.report.html import render_report

    assert "Graded WITHOUT a sandbox" in render_report(result, find_assignment("mnist-callback"), "en")
    entry = type("Entry", (), {"result": result, "student": "a", "info": {}, "outcome": "graded", "graded_at": "", "folder": "a"})()
    assert context([entry], ExportSettings(assignment_id="mnist-callback", title="t"))["unsafe"] == 1


def test_grading_is_refused_where_no_isolation_works(tmp_path, monkeypatch, capsys):
    """No bubblewrap, no usable `unshare`: exit 2 with what to install, before anything runs."""
    from grader.cli import main as cli

    monkeypatch.setattr(sandbox_modes, "bwrap_path", lambda: None)
    monkeypatch.setattr(sandbox_modes, "unshare_path", lambda: None)
    notebook = tmp_path / "a.py"
    notebook.write_text("print('hello')\n")
    assert cli.main(["grade", str(notebook), "-a", "mnist-callback", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no safe sandbox" in err and "apt-get install bubblewrap" in err and "--sandbox none" in err
    assert not (tmp_path / "out").exists()


# -- the hostile corpus -----------------------------------------------------------------------


def test_every_attack_has_a_test():
    """Each file of tests/hostile/ is graded by a test: `test_<its stem>`, or one naming the file."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in HOSTILE.parent.rglob("test_*.py"))
    attacks = {p for p in HOSTILE.iterdir() if p.suffix in (".py", ".ipynb")}
    untested = {p.name for p in attacks if f"def test_{p.stem}(" not in sources and f'"{p.name}"' not in sources}
    assert not untested, untested
