"""Files written whole or not at all, and TOML files read with errors that name them.

`atomic_write` writes to a temporary file of a unique name in the target's folder (so two writers
never share one, and a symlink planted at a fixed name is never followed), flushes it to disk and
renames it over the target: a reader sees the old file or the new one, never half of either. On
any failure the temporary file is removed and the error raised.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Writer = Callable[[BinaryIO], Any]  # writes the content into the open (binary) temporary file


class Readable(Protocol):
    """A `Path`, or a package resource (`importlib.resources.files(...) / name`)."""

    def read_text(self, encoding: str | None = ...) -> str: ...


class TomlError(ValueError):
    """A TOML file that cannot be read, or is not valid TOML; `str()` names the file and the problem."""

    def __init__(self, path: object, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


def load_toml(path: Readable) -> dict[str, Any]:
    """The top table of the UTF-8 TOML file at `path`. Raises `TomlError`: "cannot read: ..." (a missing
    or unreadable file, or bytes that are not UTF-8) or "not valid TOML: ..." (with the line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TomlError(path, f"cannot read: {exc}") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlError(path, f"not valid TOML: {exc}") from exc


def atomic_write(path: Path, data: str | bytes | Writer, *, mode: int | None = None, sync: bool = True) -> Path:
    """Write `data` (text, written as UTF-8; bytes; or a function that writes into the binary file it
    is given) to `path` atomically; returns `path`. The file gets `mode` (default: what a plain
    `open` would give under the umask); `sync=False` skips the flushes to disk, for scratch copies
    that need no crash safety. The folder must exist."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:100]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if sync:
        _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """Flush the folder's entry of the renamed file to disk (best effort: not every system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """This process's umask, read without changing it (Linux shows it in /proc); else set and put back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
