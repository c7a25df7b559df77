"""`atomic_write` and `load_toml`: whole files or none, unique temporary names, errors that name the file."""

from __future__ import annotations

import os
import stat
import tempfile
import threading
from importlib import resources
from pathlib import Path

import pytest

from grader.common import files
from grader.common.files import TomlError, atomic_write, load_toml


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_text_bytes_and_a_writer_land_whole(tmp_path):
    assert atomic_write(tmp_path / "a.txt", "héllo\n") == tmp_path / "a.txt"
    atomic_write(tmp_path / "b.bin", b"\x00\xff")
    atomic_write(tmp_path / "c.bin", lambda f: f.write(b"from a writer"))
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()  # UTF-8, no newline translation
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert (tmp_path / "c.bin").read_bytes() == b"from a writer"
    atomic_write(tmp_path / "a.txt", "replaced")
    assert (tmp_path / "a.txt").read_text() == "replaced"
    assert leftovers(tmp_path, {"a.txt", "b.bin", "c.bin"}) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old")

    def half(f):
        f.write(b"half a fi")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, half)
    with pytest.raises(KeyboardInterrupt):  # an interruption cleans up too
        atomic_write(target, lambda f: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert target.read_text() == "old"
    assert leftovers(tmp_path, {"result.json"}) == []


def test_a_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / "dir").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(OSError):
        atomic_write(tmp_path / "dir", "x")
    assert leftovers(tmp_path, {"dir"}) == [] and list((tmp_path / "dir").iterdir()) == []


def test_two_writers_never_share_a_temporary_name(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    names: list[str] = []
    both_open = threading.Barrier(2, timeout=10)
    real_mkstemp = tempfile.mkstemp

    def recording_mkstemp(*args, **kwargs):
        fd, name = real_mkstemp(*args, **kwargs)
        names.append(name)
        return fd, name

    monkeypatch.setattr(files.tempfile, "mkstemp", recording_mkstemp)

    def writer(text: str) -> None:
        def write(f):
            f.write(text.encode() * 1000)
            both_open.wait()  # each is mid-write while the other is too
        atomic_write(target, write)

    threads = [threading.Thread(target=writer, args=(t,)) for t in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(names) == 2 and names[0] != names[1]
    assert all(Path(n).parent == tmp_path and Path(n).name.startswith(".report.html.") for n in names)
    assert target.read_text() in ("A" * 1000, "B" * 1000)  # one of them, whole
    assert leftovers(tmp_path, {"report.html"}) == []


def test_a_symlink_at_a_temporary_name_is_never_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    for name in (".result.json.tmp", ".result.json.partial"):  # the fixed names of before
        (tmp_path / name).symlink_to(victim)
    atomic_write(tmp_path / "result.json", "{}")
    assert victim.read_text() == "untouched" and (tmp_path / "result.json").read_text() == "{}"


def test_the_mode_follows_the_umask_unless_given(tmp_path):
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "private", "x")
    finally:
        os.umask(old)
    atomic_write(tmp_path / "shared", "x", mode=0o644)
    atomic_write(tmp_path / "readonly", "x", mode=0o444, sync=False)
    assert stat.S_IMODE((tmp_path / "private").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "readonly").stat().st_mode) == 0o444


def test_a_long_name_still_gets_a_temporary_name(tmp_path):
    target = tmp_path / ("x" * 250)
    atomic_write(target, "ok")
    assert target.read_text() == "ok"


def test_load_toml_reads_a_file_and_a_package_resource(tmp_path):
    (tmp_path / "a.toml").write_text('[t]\nname = "ü"\n', encoding="utf-8")
    assert load_toml(tmp_path / "a.toml") == {"t": {"name": "ü"}}
    catalogue = load_toml(resources.files("grader") / "locales" / "en" / "cli.toml")
    assert isinstance(catalogue, dict) and catalogue


def test_load_toml_errors_name_the_file_and_the_problem(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[t]\nname = \n", encoding="utf-8")
    with pytest.raises(TomlError) as syntax:
        load_toml(bad)
    assert str(syntax.value).startswith(f"{bad}: not valid TOML: ") and "line 2" in str(syntax.value)
    assert syntax.value.path == bad and isinstance(syntax.value, ValueError)

    missing = tmp_path / "missing.toml"
    with pytest.raises(TomlError, match=r"missing\.toml: cannot read: .*No such file"):
        load_toml(missing)

    latin = tmp_path / "latin.toml"
    latin.write_bytes('name = "\xe9"\n'.encode("latin-1"))
    with pytest.raises(TomlError, match=r"latin\.toml: cannot read: .*utf-8"):
        load_toml(latin)
