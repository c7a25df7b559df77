"""Running a submission: the kernel, its client, the record, the evaluation's host half, figures."""
