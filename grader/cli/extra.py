"""Commands beyond `grade`, `list` and `data`: each module registers its own sub-commands here."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the batch, export and Gradescope commands (each module adds its own parsers)."""
    from grader.cli import gradescope
    from grader.cli import batch
    from grader.cli import export

    batch.register(sub)
    export.register(sub)
    gradescope.register(sub)
