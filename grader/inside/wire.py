"""The evaluation's wire format: arrays written to its stdin by the host, read inside the sandbox."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from typing import IO, BinaryIO

import numpy as np

MAX_WIRE_BYTES = 256 << 20  # one batch of arrays on the evaluation's stdin, at most
WIRE_DTYPES = ("uint8", "int64", "float32")

Arrays = dict[str, np.ndarray]


def write_arrays(stream: IO[bytes], arrays: Mapping[str, np.ndarray]) -> None:
    """One JSON line naming each array's dtype and shape, then their bytes in that order."""
    header = [[name, str(a.dtype), list(a.shape)] for name, a in arrays.items()]
    stream.write(json.dumps({"arrays": header}).encode() + b"\n")
    for a in arrays.values():
        stream.write(np.ascontiguousarray(a).tobytes())
    stream.flush()


def read_arrays(stream: BinaryIO) -> Arrays:
    """What `write_arrays` wrote; a short or malformed stream raises ValueError."""
    header = json.loads(stream.readline(1 << 16) or b"null")
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ValueError("no arrays on the wire")
    arrays, total = {}, 0
    for name, dtype, shape in header["arrays"]:
        if dtype not in WIRE_DTYPES or not all(type(d) is int and d >= 0 for d in shape):
            raise ValueError(f"unexpected array {name}: {dtype} {shape}")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        total += size
        if total > MAX_WIRE_BYTES:
            raise ValueError("too many bytes on the wire")
        data = _read_exactly(stream, size)
        arrays[str(name)] = np.frombuffer(data, dtype=dtype).reshape(shape)
    return arrays


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise ValueError("the arrays on the wire were cut short")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def close_stdin() -> None:
    """Point fd 0 at /dev/null: nothing more can be read from the host's pipe, by us or a graph."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
