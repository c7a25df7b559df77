"""What a sandboxed process leaves to the host, kept within bounds: its output (drained by a
thread, head and tail kept), the size of the files it wrote, and its files in shared folders."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path


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


def directory_size(root: Path, max_entries: int = 200_000) -> int:
    """Bytes of the files under `root` (symlinks not followed); past `max_entries` it counts as too many."""
    total, seen = 0, 0
    stack = [root]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                return 1 << 62
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
    return total


def remove_files_of(uid: int, folders: list[Path]) -> None:
    """Remove what `uid` left in shared folders (outside bubblewrap, /tmp is the host's)."""
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
