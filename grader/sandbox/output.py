"""What a sandboxed process leaves to the host, kept within bounds: its output (drained by a
thread, head and tail kept), the size of the files it wrote, its files in shared folders, and the
grading folder itself. Folder trees are walked and removed without recursion, by file descriptor:
a tree of any depth, with paths longer than PATH_MAX, is measured (or refused) and removed."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


class OutputSink:
    """A pipe whose reading end a thread drains, keeping the first `keep_head` and the last
    `keep_tail` bytes; the process writing into it never blocks and the host never holds more."""

    def __init__(self, keep_head: int = 0, keep_tail: int = 64 * 1024) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.keep_head, self.keep_tail = keep_head, keep_tail
        self.head, self.tail = bytearray(), bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.read_fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            room = self.keep_head - len(self.head)
            if room > 0:
                self.head += chunk[:room]
            self.tail += chunk
            del self.tail[: max(0, len(self.tail) - self.keep_tail)]
        os.close(self.read_fd)

    def started(self) -> None:
        """The child has its copy of the writing end: close ours, so the end of the child ends the drain."""
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def finish(self, timeout: float = 5) -> None:
        """Wait (at most `timeout` seconds) until everything written has been drained."""
        self.started()
        self._thread.join(timeout)

    @property
    def truncated(self) -> bool:
        """Whether more was written than the head keeps."""
        return self.total > self.keep_head

    def text(self, part: str = "tail") -> str:
        """The kept "head" or "tail", decoded."""
        return bytes(self.head if part == "head" else self.tail).decode("utf-8", "replace")


class TreeTooLarge(Exception):
    """A folder tree deeper or with more entries than the walk allows."""


def walk_tree(root: Path, max_depth: int = 128, max_entries: int = 200_000) -> Iterator[tuple[tuple[str, ...], os.stat_result]]:
    """Every entry under `root` as (its path's names below `root`, its lstat), depth first, without
    recursion and without following a link. It descends by file descriptor (one per level, so no
    path is ever longer than one name); past `max_depth` levels or `max_entries` entries it raises
    TreeTooLarge. Entries that vanish while it runs are skipped; other errors are raised."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fds = [os.open(root, flags)]
    names: list[str] = []
    pending: list[list[os.DirEntry[str]]] = []
    seen = 0
    try:
        pending.append(list(os.scandir(fds[-1])))
        while pending:
            if not pending[-1]:
                pending.pop()
                os.close(fds.pop())
                if names:
                    names.pop()
                continue
            entry = pending[-1].pop()
            seen += 1
            if seen > max_entries:
                raise TreeTooLarge(f"more than {max_entries} entries")
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield (*names, entry.name), info
            if not stat.S_ISDIR(info.st_mode):
                continue
            if len(fds) >= max_depth:
                raise TreeTooLarge(f"more than {max_depth} levels deep")
            try:
                fd = os.open(entry.name, flags, dir_fd=fds[-1])
            except (FileNotFoundError, NotADirectoryError):
                continue
            fds.append(fd)
            names.append(entry.name)
            pending.append(list(os.scandir(fd)))
    finally:
        for fd in fds:
            os.close(fd)


def directory_size(root: Path, max_entries: int = 200_000, max_depth: int = 128) -> int:
    """Bytes of the files under `root` (symlinks not followed); a tree with more than `max_entries`
    entries or deeper than `max_depth` counts as too large (a huge number)."""
    total = 0
    try:
        for _, info in walk_tree(root, max_depth, max_entries):
            total += info.st_blocks * 512
    except TreeTooLarge:
        return 1 << 62
    except OSError:
        pass  # the root went away, or a folder could not be listed: what was counted stands
    return total


def remove_tree(path: Path) -> bool:
    """Remove `path` and everything under it, however deep: no recursion, and one open folder at
    a time (it descends by file descriptor and climbs back through "..", checking that it lands
    where it came from, so no path is ever longer than one name). A link is removed, never
    followed. Returns whether nothing is left; never raises."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return True
        _empty_folder(path)
        os.rmdir(path)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return not os.path.lexists(path)


def _empty_folder(path: Path) -> None:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags)
    names: list[str] = []  # the folders descended into, from `path` down
    ids = [_identity(fd)]
    pending = [_clear_files(fd)]  # per level: its subfolders not yet removed
    try:
        while True:
            if pending[-1]:
                sub = pending[-1].pop()
                child = _open_folder(sub, fd)
                os.close(fd)
                fd = child
                names.append(sub)
                ids.append(_identity(fd))
                pending.append(_clear_files(fd))
                continue
            pending.pop()
            if not names:
                return
            parent = os.open("..", flags, dir_fd=fd)
            os.close(fd)
            fd = parent
            ids.pop()
            if _identity(fd) != ids[-1]:
                raise OSError(f"{path}: a folder moved while it was being removed")
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)


def _open_folder(name: str, dir_fd: int) -> int:
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:  # a folder its owner made unreadable (root is never refused)
        os.chmod(name, 0o700, dir_fd=dir_fd)
        return os.open(name, flags, dir_fd=dir_fd)


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    if info.st_mode & 0o700 != 0o700:
        os.fchmod(fd, stat.S_IMODE(info.st_mode) | 0o700)  # a folder its owner made unreadable
    return info.st_dev, info.st_ino


def _clear_files(fd: int) -> list[str]:
    """Unlink every entry of the open folder `fd` that is not a folder; the names of its subfolders."""
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=fd)
    return folders


@contextlib.contextmanager
def grading_folder(prefix: str = "grader-") -> Iterator[Path]:
    """A private temporary folder for one grading, removed afterwards however deep a tree the
    submission left in it (`tempfile.TemporaryDirectory` recurses, and gave up on such trees)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if not remove_tree(path):
            log.warning("could not remove the grading folder %s", path)


def remove_files_of(uid: int, folders: list[Path]) -> None:
    """Remove what `uid` left in shared folders (outside bubblewrap, /tmp is the host's)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    remove_tree(Path(entry.path))
            except OSError:
                pass
