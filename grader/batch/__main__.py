"""`python -m grader.batch --worker JOBDIR`: a batch's worker process (internal: use `grader batch`)."""

from __future__ import annotations

import sys
from pathlib import Path

from grader.batch.worker import worker_main


def main(argv: list[str]) -> int:
    """Grade the job in JOBDIR; any other use is refused with exit code 2."""
    if len(argv) == 2 and argv[0] == "--worker":
        return worker_main(Path(argv[1]))
    print("usage: python -m grader.batch --worker JOBDIR (internal: use `grader batch`)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
