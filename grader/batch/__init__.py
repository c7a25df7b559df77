"""Batch grading of a whole class: `grader batch SUBMISSIONS -a ASSIGNMENT -o OUTDIR`.

How it works:

* **Discovery** (`discovery`, `roster`). Each file (`.ipynb`/`.py`) or folder in SUBMISSIONS is one
  submission. The student id comes from its name (optionally through `--id-pattern`) or from a
  roster CSV (`--roster`).
* **Keys** (`keys`). A submission's key is the SHA-256 of: the student id, the SHA-256 of its
  content, the assignment (id and the content of its folder), the grader version and every option
  that changes a grade. A result stored under the same key is never graded again; a changed file is.
* **Isolation** (`local`, `worker`). Each submission is graded by `grade()` in a fresh worker process
  (`python -m grader.batch --worker DIR`) in its own session. The worker writes its result to a
  file; it never touches the gradebook. If it crashes, is killed or outlives its hard limit, that
  becomes a failed result for that submission only (`results`), and the batch goes on.
* **Gradebook** (`run`). Only this (the parent) process writes the SQLite gradebook, one committed
  transaction per result, as soon as the result comes back. A batch killed at any point and run
  again keeps what was committed and grades only what is missing.
* **Executors.** `local`: N worker processes on this machine (threads here only wait on them).
  `dask` (`dask_executor`): the same worker processes, started by tasks on a Dask cluster's
  workers; the submission and the assignment travel with the task, the gradebook stays here.
* **Threads** (`machine`). Every thread pool of a grading kernel (TensorFlow intra-op and inter-op,
  OpenMP, BLAS) gets `max(1, cores // concurrent gradings on that machine)` threads, so that N
  workers never oversubscribe the cores.

The command line is `grader batch` (:mod:`grader.cli.batch`), the progress display in `progress`.
"""
