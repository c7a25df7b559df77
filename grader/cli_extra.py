"""Commands beyond `grade`, `list` and `data`: each module registers its own sub-commands here."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the batch, export and LMS commands (filled in by their modules)."""
