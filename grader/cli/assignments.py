"""`grader list`: the assignments this grader knows."""

from __future__ import annotations

import click

from grader.errors import EXIT_PASSED


@click.command("list", help="list the assignments")
def list_assignments() -> int:
    from grader.assignment import list_assignments as assignments

    for a in assignments():
        checks = ", ".join(a.points)
        print(f"{a.id:<18} {a.title}\n{'':<18} {a.rules_summary()}; checks: {checks}")
    return EXIT_PASSED
