"""Fixtures of the tests of running a submission."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.sandbox.output import remove_tree


@pytest.fixture
def remove_deep_trees(tmp_path: Path) -> Iterator[None]:
    """pytest's own clean-up of old temporary folders recurses, and a tree 1,000 levels deep left
    in one would break every later session's: the trees these tests make go right after them."""
    yield
    for child in tmp_path.iterdir():
        remove_tree(child)
