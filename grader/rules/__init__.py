"""The rules: checks over the grader's own measurements, the pre-check and integrity."""
