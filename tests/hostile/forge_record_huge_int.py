# Attack: the grader's record is written inside the kernel, so write it by hand: a 5,000-digit integer
# where an epoch count belongs, and an input transform nested 100,000 levels deep. The host's json.loads
# raised ValueError (the int-string conversion limit) or RecursionError, and grading crashed.
from grader.inside import setup

recorder = setup._RECORDER[-1]
recorder.save = lambda: None  # the grader's own writes are dropped from now on
deep = "[" * 100_000 + "]" * 100_000
with open(recorder.record_path, "w") as fh:
    fh.write('{"fits": [{"epochs_requested": ' + "9" * 5000 + ', "initial_epoch": 0, "epochs": []}], "input_transform": {"known": true, "shape": ' + deep + "}}")
