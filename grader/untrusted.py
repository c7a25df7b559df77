"""Reading what a student or the sandbox produced: files opened without following links, JSON
bounded in depth and in the digits of its numbers, and text that can always be encoded.

Every failure here is a `HostileInput` carrying a catalogue key (under `input.`), so that the
caller turns it into a failed result with a localised message, never into a crash.
"""

from __future__ import annotations

import json
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

from grader.i18n import t

MAX_DEPTH = 64  # nesting of a notebook or a record; Jupyter writes fewer than 10 levels
MAX_DIGITS = 100  # digits of one integer; Python refuses to convert more than 4,300
SURROGATES = re.compile("[\ud800-\udfff]")
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})  # control, format (bidi overrides), separators, surrogates


class HostileInput(ValueError):
    """Input that cannot be read safely; `key` names its message under `input.` in the catalogue."""

    def __init__(self, key: str, **values: Any) -> None:
        self.key, self.values = key, values
        super().__init__(self.localised("en"))

    def localised(self, lang: str) -> str:
        """The message in `lang` (values that are HostileInput themselves are localised too)."""
        values = {k: v.localised(lang) if isinstance(v, HostileInput) else v for k, v in self.values.items()}
        return t(lang, f"input.{self.key}", **values)


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `max_bytes` and not a symbolic
    link: a FIFO would block the host, a device would never end, a link could point anywhere."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise HostileInput("file.missing") from exc
    except OSError as exc:
        if os.path.islink(path):
            raise HostileInput("file.symlink") from exc
        raise HostileInput("file.unreadable", reason=exc.strerror or type(exc).__name__) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise HostileInput("file.not_regular")
        if info.st_size > max_bytes:
            raise HostileInput("file.too_large", size=info.st_size // 1_048_576, limit=max_bytes // 1_048_576)
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise HostileInput("file.too_large", size=total // 1_048_576, limit=max_bytes // 1_048_576)
        return b"".join(chunks)
    except OSError as exc:
        raise HostileInput("file.unreadable", reason=exc.strerror or type(exc).__name__) from exc
    finally:
        os.close(fd)


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise HostileInput("json.huge_number", limit=MAX_DIGITS)
    return int(digits)


def load_json(text: str, max_depth: int = MAX_DEPTH) -> Any:
    """`text` parsed as JSON, with every string safe to encode; raises HostileInput for broken JSON,
    nesting deeper than `max_depth`, or an integer of more than MAX_DIGITS digits."""
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except HostileInput:
        raise
    except json.JSONDecodeError as exc:
        raise HostileInput("json.broken", line=exc.lineno, column=exc.colno) from exc
    except RecursionError as exc:
        raise HostileInput("json.too_deep", limit=max_depth) from exc
    except (ValueError, MemoryError) as exc:  # ValueError: a number Python will not convert
        raise HostileInput("json.unreadable", reason=type(exc).__name__) from exc
    if depth_exceeds(data, max_depth):
        raise HostileInput("json.too_deep", limit=max_depth)
    return clean(data)


def depth_exceeds(data: Any, limit: int) -> bool:
    """Whether lists and objects in `data` nest more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def safe_text(text: str) -> str:
    """`text` with every lone surrogate (which UTF-8 cannot encode) replaced by U+FFFD."""
    return text if text.isascii() else SURROGATES.sub("\ufffd", text)


def visible(text: str) -> str:
    """`text` with every control, format or line-separator character (an escape sequence for the
    instructor's terminal, a bidirectional override, a newline) written as a visible escape, `\\x1b`:
    for names a submission chose, such as its file name, before they are printed or stored."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) in HIDDEN_CATEGORIES else c for c in safe_text(text))


def clean(data: Any) -> Any:
    """A copy of JSON-ready `data` (dicts, lists, tuples, scalars) whose strings, keys included, are
    safe to encode; built without recursion, so any depth is fine."""
    if not isinstance(data, (dict, list, tuple)):
        return safe_text(data) if isinstance(data, str) else data
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(data, root, 0)]  # (value, container of its copy, key there)
    while stack:
        value, parent, slot = stack.pop()
        if isinstance(value, dict):
            copy: Any = {}
            for k, v in value.items():
                key = safe_text(k) if isinstance(k, str) else k
                copy[key] = None
                stack.append((v, copy, key))
        elif isinstance(value, (list, tuple)):
            copy = [None] * len(value)
            stack.extend((v, copy, i) for i, v in enumerate(value))
        else:
            copy = safe_text(value) if isinstance(value, str) else value
        parent[slot] = copy
    return root[0]
